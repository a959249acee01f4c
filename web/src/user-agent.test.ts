/** Session rows name the device as a person knows it, whatever the browser claims besides. */
import { describeUserAgent, isPhone } from './user-agent';

const AGENTS = {
  chromeLinux:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  headless:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  firefoxAndroid: 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  chromeIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
};

it('names the browser and the system, the most specific claim first', () => {
  expect(describeUserAgent(AGENTS.chromeLinux)).toBe('Chrome on Linux');
  expect(describeUserAgent(AGENTS.headless)).toBe('Chrome on Linux');
  expect(describeUserAgent(AGENTS.safariIphone)).toBe('Safari on iPhone');
  expect(describeUserAgent(AGENTS.edgeWindows)).toBe('Edge on Windows');
  expect(describeUserAgent(AGENTS.firefoxAndroid)).toBe('Firefox on Android');
  expect(describeUserAgent(AGENTS.safariMac)).toBe('Safari on macOS');
  expect(describeUserAgent(AGENTS.chromeIphone)).toBe('Chrome on iPhone');
});

it('shows a program by its product name, and says so when there is no User-Agent', () => {
  expect(describeUserAgent('curl/8.5.0')).toBe('curl');
  expect(describeUserAgent('node')).toBe('node');
  expect(describeUserAgent(null)).toBe('Unknown device');
  expect(describeUserAgent('   ')).toBe('Unknown device');
  expect(describeUserAgent(`${'x'.repeat(200)}/1`)).toHaveLength(40);
});

it('tells phones from the rest for the row icon', () => {
  expect(isPhone(AGENTS.safariIphone)).toBe(true);
  expect(isPhone(AGENTS.firefoxAndroid)).toBe(true);
  expect(isPhone(AGENTS.chromeLinux)).toBe(false);
  expect(isPhone(null)).toBe(false);
});
