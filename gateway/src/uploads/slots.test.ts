import { UploadSlots } from './slots';

describe('UploadSlots', () => {
  it('caps uploads per user, per address and in total, and frees a slot once', () => {
    const slots = new UploadSlots({ total: 3, perUser: 2, perIp: 2 });
    const a1 = slots.take('alice', '10.0.0.1');
    const a2 = slots.take('alice', '10.0.0.2');
    expect(slots.take('alice', '10.0.0.3')).toEqual({
      refused: expect.stringMatching(/uploads in progress/),
    });
    const b1 = slots.take('bob', '10.0.0.1');
    expect(slots.take('carol', '10.0.0.1')).toEqual({ refused: expect.stringMatching(/address/) });
    expect(slots.take('carol', '10.0.0.9')).toEqual({ refused: expect.stringMatching(/busy/) });
    expect(slots.inUse).toBe(3);
    if (!('release' in a1) || !('release' in a2) || !('release' in b1)) throw new Error('expected slots');
    a1.release();
    a1.release();
    expect(slots.inUse).toBe(2);
    expect('release' in slots.take('carol', '10.0.0.9')).toBe(true);
  });
});
