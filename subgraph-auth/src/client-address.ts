import ipaddr from 'ipaddr.js';

/** proxy-addr's names for address ranges, accepted in TRUST_PROXY as Express accepts them. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Whether `entry` is something Express' `trust proxy` understands as an address list item: a name
 * above, an IPv4/IPv6 address, or a CIDR range. Hop counts are refused on purpose: "the last N
 * hops" trusts whoever connects, so anyone reaching the subgraph directly picks their own address.
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
 * The key a client is throttled by. IPv4 (and IPv4-mapped IPv6) addresses as they are; IPv6 by
 * their /64, because one home connection or one cloud VM is routinely handed a whole /64 and could
 * otherwise rotate through 2^64 addresses, one per guess.
 */
export function throttleKeyForAddress(address: string): string {
  const bare = address.replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return address;
  const parsed = ipaddr.parse(bare);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const prefix = v6.parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}
