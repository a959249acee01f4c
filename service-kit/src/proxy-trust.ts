import ipaddr from 'ipaddr.js';
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
  if (rest.length > 0 || !isPlainAddress(address)) return false;
  if (prefix === undefined) return true;
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}

/** Dotted-quad IPv4 or IPv6; ipaddr.js alone would also take "1" or "0x7f000001" as IPv4. */
const isPlainAddress = (value: string) =>
  ipaddr.IPv4.isValidFourPartDecimal(value) || ipaddr.IPv6.isValid(value);

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
