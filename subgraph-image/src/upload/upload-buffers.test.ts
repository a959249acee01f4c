import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { readLimited } from './read-limited';
import { BufferInUse, UploadBuffers } from './upload-buffers';

const pool = (maxIdle = 4, idleMs = 60_000) => new UploadBuffers(16, { maxIdle, idleMs });

describe('UploadBuffers', () => {
  it('hands the next upload the buffer the last one gave back', async () => {
    const buffers = pool();
    const first = await buffers.use(async (buffer) => buffer);
    const second = await buffers.use(async (buffer) => buffer);
    expect(second).toBe(first);
    expect(first.length).toBe(16);
  });

  it('gives uploads running at once a buffer each', async () => {
    const buffers = pool();
    const held: Buffer[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = [1, 2, 3].map(() =>
      buffers.use(async (buffer) => {
        held.push(buffer);
        await gate;
      }),
    );
    await sleep(0);
    expect(new Set(held).size).toBe(3);
    release();
    await Promise.all(running);
    expect(buffers.idleCount).toBe(3);
  });

  it('takes back a buffer after a failure, but not after BufferInUse, whose cause it throws', async () => {
    const buffers = pool();
    const refused = new Error('refused');
    await expect(
      buffers.use(async () => {
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(buffers.idleCount).toBe(1);
    const lost = new Error('connection lost mid-write');
    await expect(
      buffers.use(async () => {
        throw new BufferInUse(lost);
      }),
    ).rejects.toBe(lost);
    expect(buffers.idleCount).toBe(0);
  });

  it('keeps at most maxIdle buffers', async () => {
    const buffers = pool(2);
    await Promise.all([1, 2, 3, 4].map(() => buffers.use(() => sleep(1))));
    expect(buffers.idleCount).toBe(2);
  });

  it('drops buffers left unused for idleMs', async () => {
    const buffers = pool(4, 50);
    await buffers.use(async () => {});
    expect(buffers.idleCount).toBe(1);
    await sleep(150);
    expect(buffers.idleCount).toBe(0);
  });
});

describe('readLimited', () => {
  const streamOf = (...chunks: Buffer[]) => {
    const stream = new PassThrough();
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
    return stream;
  };

  it('returns only the bytes this file wrote, not what an earlier one left in the buffer', async () => {
    const buffer = Buffer.alloc(16, 0xee);
    const file = await readLimited(streamOf(Buffer.from([1, 2, 3]), Buffer.from([4, 5])), buffer);
    expect([...file]).toEqual([1, 2, 3, 4, 5]);
  });

  it('takes a file of exactly the limit, and refuses one byte more with PAYLOAD_TOO_LARGE', async () => {
    const exact = await readLimited(streamOf(Buffer.alloc(10, 1), Buffer.alloc(6, 2)), Buffer.alloc(16));
    expect(exact.length).toBe(16);
    await expect(
      readLimited(streamOf(Buffer.alloc(10), Buffer.alloc(7)), Buffer.alloc(16)),
    ).rejects.toMatchObject({
      extensions: { code: 'PAYLOAD_TOO_LARGE', field: 'file', limit: 16 },
    });
  });
});
