import { UrlSigner } from './signing';

const key = Buffer.alloc(32, 7);
const id = '6f1c1f9e-2f43-4c1a-9d7b-0a4f7b1f2c3d';

function parts(url: string) {
  const parsed = new URL(url);
  return { exp: parsed.searchParams.get('exp')!, sig: parsed.searchParams.get('sig')! };
}

describe('UrlSigner', () => {
  let now = 1_800_000_000_000;
  const signer = new UrlSigner(key, 'https://img.example', 3600, () => now);

  it('makes absolute URLs that expire after the TTL', () => {
    const url = signer.url(id, 'original');
    expect(url).toMatch(
      new RegExp(`^https://img\\.example/images/${id}/original\\?exp=1800003600&sig=[A-Za-z0-9_-]{43}$`),
    );
    const { exp, sig } = parts(url);
    expect(signer.verify(id, 'original', exp, sig)).toEqual({ valid: true, expiresAt: 1_800_003_600 });
  });

  it('binds the signature to id, variant and expiry', () => {
    const { exp, sig } = parts(signer.url(id, 'original'));
    expect(signer.verify(id.replace('6f', '7f'), 'original', exp, sig).valid).toBe(false);
    expect(signer.verify(id, 'thumbnail', exp, sig).valid).toBe(false);
    expect(signer.verify(id, 'original', String(Number(exp) + 1), sig).valid).toBe(false);
    expect(
      new UrlSigner(Buffer.alloc(32, 8), 'x', 3600, () => now).verify(id, 'original', exp, sig).valid,
    ).toBe(false);
  });

  it('rejects malformed input without throwing', () => {
    const { exp, sig } = parts(signer.url(id, 'original'));
    for (const [e, s] of [
      [undefined, sig],
      [exp, undefined],
      [['1', '2'], sig],
      ['1e9', sig],
      [exp, `${sig}=`],
      [exp, 'é'.repeat(43)],
    ] as [unknown, unknown][]) {
      expect(signer.verify(id, 'original', e, s)).toEqual({ valid: false, reason: 'invalid' });
    }
  });

  it('reports expiry once the clock passes exp', () => {
    const { exp, sig } = parts(signer.url(id, 'thumbnail'));
    now += 3600 * 1000;
    expect(signer.verify(id, 'thumbnail', exp, sig)).toEqual({ valid: false, reason: 'expired' });
  });
});
