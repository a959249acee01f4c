/**
 * Mixed client traffic through the gateway with bounded concurrency, every request with a deadline.
 * The fault suite runs it while it breaks things; the soak runs it for minutes. Each request ends as a
 * sample: how long it took and how it ended (ok, an error code, HTTP status, timed out, refused).
 */

import { randomInt } from 'node:crypto';
import { codesOf } from '@imagehub/test-kit';
import { uniquePng } from './images';
import type { AuthSession, System } from './system';

export type Operation = 'me' | 'images' | 'login' | 'upload' | 'fetchImage';

export interface Sample {
  op: Operation;
  /** ms since the workload started. */
  at: number;
  ms: number;
  ok: boolean;
  /** The first error code, `HTTP_<status>`, `TIMEOUT` or `NETWORK`; undefined when ok. */
  code?: string;
  /** The error message, to check it holds no internals. */
  message?: string;
  uploadedId?: string;
}

export interface WorkloadOptions {
  concurrency: number;
  /** A request still open after this is abandoned and counted as TIMEOUT (the "did not hang" bound). */
  timeoutMs: number;
  weights: Partial<Record<Operation, number>>;
}

const ME = '{ me { id name } }';
const IMAGES = '{ me { id images(first: 20) { totalCount edges { node { id url thumbnailUrl } } } } }';

export class Workload {
  readonly samples: Sample[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private started = 0;
  private readonly pngs: Buffer[] = [];
  private readonly urls: string[] = [];

  constructor(
    private readonly sys: System,
    private readonly users: AuthSession[],
    private readonly options: WorkloadOptions,
  ) {}

  async start(): Promise<void> {
    // A small pool of files: uploads deduplicate into shared blobs, which that path must also survive.
    for (let i = 0; i < 8; i++) this.pngs.push(await uniquePng(64, 48));
    this.running = true;
    this.started = Date.now();
    this.workers = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  async stop(): Promise<Sample[]> {
    this.running = false;
    await Promise.all(this.workers);
    return this.samples;
  }

  elapsed(): number {
    return Date.now() - this.started;
  }

  private pick(): Operation {
    const entries = Object.entries(this.options.weights) as [Operation, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let roll = Math.random() * total;
    for (const [op, weight] of entries) {
      roll -= weight;
      if (roll < 0) return op;
    }
    return entries[0]?.[0] ?? 'me';
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const op = this.pick();
      const user = this.users[randomInt(this.users.length)]!;
      const at = Date.now() - this.started;
      const sample = await this.run(op, user);
      this.samples.push({ op, at, ms: Date.now() - this.started - at, ...sample });
    }
  }

  private async run(op: Operation, user: AuthSession): Promise<Omit<Sample, 'op' | 'at' | 'ms'>> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      if (op === 'fetchImage') {
        const url = this.urls[randomInt(Math.max(1, this.urls.length))];
        if (!url) return this.run('images', user);
        const parsed = new URL(url);
        const response = await fetch(`${this.sys.url('gateway')}${parsed.pathname}${parsed.search}`, {
          signal,
        });
        await response.arrayBuffer();
        return response.ok ? { ok: true } : { ok: false, code: `HTTP_${response.status}` };
      }
      const result =
        op === 'me'
          ? await this.sys.gql(ME, {}, user.accessToken, { signal })
          : op === 'images'
            ? await this.sys.gql(IMAGES, {}, user.accessToken, { signal })
            : op === 'login'
              ? await this.sys.gql(
                  'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }',
                  { e: user.email, p: user.password },
                  undefined,
                  { signal },
                )
              : await this.sys.upload(this.pngs[randomInt(this.pngs.length)]!, user.accessToken, { signal });
      const codes = codesOf(result);
      if (result.status === 200 && codes.length === 0 && result.data) {
        const uploaded = (result.data as { uploadImage?: { id: string; url: string } }).uploadImage;
        if (uploaded) this.remember(uploaded.url);
        const listed = (result.data as { me?: { images?: { edges: { node: { url: string } }[] } } }).me
          ?.images;
        for (const edge of listed?.edges.slice(0, 2) ?? []) this.remember(edge.node.url);
        return { ok: true, uploadedId: uploaded?.id };
      }
      return {
        ok: false,
        code: codes[0] ?? `HTTP_${result.status}`,
        message: result.errors?.[0]?.message ?? result.text.slice(0, 200),
      };
    } catch (error) {
      const name = (error as Error).name;
      return {
        ok: false,
        code: name === 'TimeoutError' || name === 'AbortError' ? 'TIMEOUT' : 'NETWORK',
        message: String((error as Error).message),
      };
    }
  }

  private remember(url: string): void {
    this.urls.push(url);
    if (this.urls.length > 200) this.urls.splice(0, 100);
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
