// C0/C1 controls and DEL break headers and logs; bidi overrides and zero-width marks let a text
// display as something it is not ("photo\u202Egnp.exe", a name that renders as empty).
const UNSAFE_CHARACTERS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * User-chosen text (filenames, display names) made safe to store, log and show: NFC-normalised,
 * without control, direction-changing or invisible characters, trimmed. May return "" when
 * nothing printable was given; the caller decides whether that is an error or gets a fallback.
 */
export function printableText(raw: string): string {
  return raw.normalize('NFC').replace(UNSAFE_CHARACTERS, '').trim();
}
