import { throttleKeyForAddress } from './client-address';

describe('throttleKeyForAddress', () => {
  it('keeps IPv4 addresses, and unwraps IPv4-mapped IPv6 ones', () => {
    expect(throttleKeyForAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(throttleKeyForAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('groups IPv6 clients by their /64, however the address is written', () => {
    const key = throttleKeyForAddress('2001:db8:1:2::1');
    expect(key).toBe('2001:db8:1:2::/64');
    expect(throttleKeyForAddress('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(key);
    expect(throttleKeyForAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(throttleKeyForAddress('2001:db8:1:3::1')).not.toBe(key);
  });

  it('leaves what is not an address alone', () => {
    expect(throttleKeyForAddress('unknown')).toBe('unknown');
  });
});
