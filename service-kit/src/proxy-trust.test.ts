import { isProxyAddress, trustedProxies } from './proxy-trust';

describe('isProxyAddress', () => {
  it.each(['loopback', '127.0.0.1', '10.42.0.0/16', '0.0.0.0/0', '::1', 'fd00::/8', '2001:db8::/128'])(
    'accepts %s',
    (entry) => {
      expect(isProxyAddress(entry)).toBe(true);
    },
  );

  it.each([
    '1',
    '2',
    'true',
    '127.1',
    '0x7f000001',
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '::1/129',
    'gateway',
    '',
  ])('refuses %j', (entry) => {
    expect(isProxyAddress(entry)).toBe(false);
  });
});

describe('trustedProxies', () => {
  const schema = trustedProxies('GATEWAY_TRUST_PROXY');

  it('reads a comma-separated list, and none for false or empty', () => {
    expect(schema.parse(' 127.0.0.1, 10.42.0.0/16 ')).toEqual(['127.0.0.1', '10.42.0.0/16']);
    expect(schema.parse(undefined)).toEqual([]);
    expect(schema.parse('false')).toEqual([]);
    expect(schema.parse('')).toEqual([]);
  });

  it('refuses hop counts, naming the variable and the entry', () => {
    const result = schema.safeParse('1');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/^GATEWAY_TRUST_PROXY must list .* not "1"$/);
  });
});
