import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

/** proxy-addr's names for address ranges, accepted as Express accepts them. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Whether `entry` is something Express' `trust proxy` understands as an address list item: a name
 * above, an IPv4/IPv6 address, or a CIDR range. Hop counts are refused on purpose: "the last N
 * hops" trusts whoever connects, so anyone reaching the service directly picks their own address.
 */
export function isProxyAddress(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  if (rest.length > 0) return false;
  // node:net takes dotted-quad IPv4 only (not "1", "127.1" or "0x7f000001") and IPv6.
  const bits = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
  if (bits === 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
}

/**
 * A service's list of the reverse proxies in front of it, whose X-Forwarded-For entries it believes:
 * comma-separated addresses, CIDR ranges or `loopback`/`linklocal`/`uniquelocal`. Empty or `false`:
 * none, and every client is its socket address. `variable` names the setting in the error.
 */
export const trustedProxies = (variable: string) =>
  z
    .string()
    .default('false')
    .transform((v, ctx) => {
      if (v === '' || v === 'false' || v === 'no') return [];
      const entries = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = entries.filter((entry) => !isProxyAddress(entry));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `${variable} must list the proxies' addresses or CIDR ranges (e.g. "loopback" or "10.42.0.0/16"), not ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
        });
        return z.NEVER;
      }
      return entries;
    });

/** Express' `trust proxy` setting for such a list: `false` (the socket address) when it is empty. */
export const trustProxySetting = (proxies: string[]): string[] | false =>
  proxies.length > 0 ? proxies : false;
