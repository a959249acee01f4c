/**
 * Buffers of MAX_UPLOAD_BYTES each that an upload is received into, used again by the next upload.
 *
 * Why reuse: a file read in network-sized chunks and joined at the end, then copied again on its way
 * to Postgres, left several MiB of dead buffers per upload that V8 frees only at its next full
 * collection, which it schedules by how much such memory has piled up (tens of MiB): under 4
 * concurrent 5 MiB uploads the image API grew by 35-66 MiB. Copying each chunk into a buffer that
 * outlives the upload means no chunk is kept for the whole upload and nothing of the file's size is
 * allocated per upload (the socket reads' own buffers remain, Node's); a buffer's pages are touched
 * only as far as the largest file it held.
 *
 * A buffer goes back for reuse only when the upload using it succeeded or failed before its bytes left
 * this process; otherwise something (a socket write) may still read it, and the garbage collector
 * takes it. Unused buffers are dropped after `idleMs`, so a burst does not stay in the RSS for good.
 */
export class UploadBuffers {
  private readonly idle: { buffer: Buffer; since: number }[] = [];
  private trimTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bytes: number,
    private readonly options: { maxIdle: number; idleMs: number },
  ) {}

  /** Idle buffers kept for the next uploads. */
  get idleCount(): number {
    return this.idle.length;
  }

  /**
   * Runs `use` with a buffer of `bytes` (its contents left over from earlier uploads: use only what
   * you wrote). `use` says, by throwing `BufferInUse`, that the buffer may still be read after it
   * returns; any other outcome gives the buffer back.
   */
  async use<T>(use: (buffer: Buffer) => Promise<T>): Promise<T> {
    const buffer = this.idle.pop()?.buffer ?? Buffer.allocUnsafeSlow(this.bytes);
    try {
      const result = await use(buffer);
      this.giveBack(buffer);
      return result;
    } catch (error) {
      if (error instanceof BufferInUse) throw error.cause;
      this.giveBack(buffer);
      throw error;
    }
  }

  private giveBack(buffer: Buffer): void {
    if (this.idle.length >= this.options.maxIdle) return;
    this.idle.push({ buffer, since: Date.now() });
    this.trimTimer ??= setTimeout(() => this.trim(), this.options.idleMs).unref();
  }

  private trim(): void {
    this.trimTimer = undefined;
    const cutoff = Date.now() - this.options.idleMs;
    // Oldest first: giveBack appends and use takes from the end.
    while (this.idle.length > 0 && this.idle[0]!.since <= cutoff) this.idle.shift();
    if (this.idle.length > 0) this.trimTimer = setTimeout(() => this.trim(), this.options.idleMs).unref();
  }
}

/** Wraps an error thrown after the buffer's bytes were handed on: the buffer is not reused. */
export class BufferInUse extends Error {
  constructor(override readonly cause: unknown) {
    super('upload buffer still in use');
  }
}
