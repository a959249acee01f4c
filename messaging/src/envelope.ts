import { randomUUID } from 'node:crypto';

/**
 * What travels on every transport, jobs and events alike. `id` is what consumers deduplicate on
 * (every transport delivers at least once); `version` is the version of `data`'s shape for this
 * `type`, so a consumer can refuse or translate a shape it does not know.
 */
export interface Envelope<T = unknown> {
  id: string;
  type: string;
  /** ISO 8601, when the message was created (not when it was published). */
  time: string;
  version: number;
  data: T;
}

export function envelope<T>(type: string, data: T, version = 1): Envelope<T> {
  return { id: randomUUID(), type, time: new Date().toISOString(), version, data };
}

/** Checks the shape of a message from the wire; throws on anything else. */
export function parseEnvelope(value: unknown): Envelope {
  const candidate = value as Partial<Envelope> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.id !== 'string' ||
    typeof candidate.type !== 'string' ||
    typeof candidate.time !== 'string' ||
    typeof candidate.version !== 'number' ||
    !('data' in candidate)
  ) {
    throw new Error('not a message envelope (id, type, time, version, data)');
  }
  return candidate as Envelope;
}
