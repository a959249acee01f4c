/**
 * A session's User-Agent as a person recognises their device: "Firefox on Android", "Safari on
 * iPhone". Browsers claim each other's names (every Chrome says Safari, Edge says Chrome), so the
 * most specific token is looked for first. Anything else (an app, curl) shows its own product name.
 */
const BROWSERS: [RegExp, string][] = [
  [/\bEdgA?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|CriOS|Chromium|HeadlessChrome)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

const SYSTEMS: [RegExp, string][] = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bWindows\b/, 'Windows'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent?.trim()) return 'Unknown device';
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser) return system ? `${browser} on ${system}` : browser;
  // Not a browser: its first product token ("curl/8.5.0" -> "curl"), kept short.
  const product = userAgent.trim().split(/[\s/]/)[0]!.slice(0, 40);
  return system ? `${product} on ${system}` : product;
}

/** The device family for the row's icon. */
export function isPhone(userAgent: string | null): boolean {
  return /\b(iPhone|Android.+Mobile|Mobile Safari)\b/.test(userAgent ?? '');
}
