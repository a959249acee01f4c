import ipaddr from 'ipaddr.js';

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
