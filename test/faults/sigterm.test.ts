/**
 * SIGTERM to each service while logins and uploads are in flight at it. Slow clients keep the
 * requests open across the signal, so they are certainly in flight. The requests complete, new
 * connections are refused while they do, the process exits (code 0) within its drain time, and what
 * was acknowledged is stored whole.
 */

import { eventually, multipartUpload, noisePng } from '@imagehub/test-kit';
import { connectionRefused, rawRequest, requestHead } from '../support/raw-http';
import { ports, type ServiceName, System } from '../support/system';

const DRAIN_MS = 8_000;
/** Exit bound: the drain time plus the pool closing and process teardown. */
const EXIT_BOUND_MS = DRAIN_MS + 4_000;

let sys: System;
let email: string;
let password: string;
let accessToken: string;

beforeAll(async () => {
  sys = await System.start({
    database: 'embedded',
    env: {
      'subgraph-auth': { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) },
      'subgraph-image': { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) },
      gateway: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) },
    },
  });
  const user = await sys.register();
  ({ email, password, accessToken } = user);
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

interface InFlight {
  what: string;
  answer: Promise<{ status: number; text: string }>;
  /** Resolves once the client is a few pieces into its body: the service is reading the request. */
  streaming: Promise<void>;
  /** What a successful answer contains. */
  success: RegExp;
}

/** Sends `body` in 15 pieces 100 ms apart: a slow client whose request stays in flight for about 1.5 s. */
function slowRequest(port: number, head: string, body: Buffer): Pick<InFlight, 'answer' | 'streaming'> {
  let streamed: () => void = () => {};
  const streaming = new Promise<void>((resolve) => {
    streamed = resolve;
  });
  const answer = rawRequest(port, head, body, {
    pieces: 15,
    paceMs: 100,
    timeoutMs: 15_000,
    onPieceSent: (index) => index === 2 && streamed(),
  });
  // A request that fails before streaming must not leave the test waiting for it.
  answer.finally(streamed).catch(() => {});
  return { answer, streaming };
}

/** A login whose body trickles in over about 1.5 s. */
function slowLogin(service: ServiceName): InFlight {
  const port = ports(sys)[service];
  const body = Buffer.from(
    JSON.stringify({
      query:
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }',
      variables: { e: email, p: password },
    }),
  );
  sys.secrets.add(password);
  const head = requestHead('POST', '/graphql', port, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
  });
  return {
    what: `slow login at ${service}`,
    ...slowRequest(port, head, body),
    success: /"login":\{"accessToken":"[^"]+"/,
  };
}

/** An upload whose body trickles in over about 1.5 s. */
async function slowUpload(service: ServiceName): Promise<InFlight> {
  const port = ports(sys)[service];
  const { body, contentType } = multipartUpload(noisePng(100, 100));
  const head = requestHead('POST', '/graphql', port, {
    'Content-Type': contentType,
    'Content-Length': body.length,
    Authorization: `Bearer ${accessToken}`,
    'Apollo-Require-Preflight': 'true',
  });
  return {
    what: `slow upload at ${service}`,
    ...slowRequest(port, head, body),
    success: /"uploadImage":\{"id":"[0-9a-f-]{36}"/,
  };
}

async function inFlightFor(service: ServiceName): Promise<InFlight[]> {
  if (service === 'subgraph-auth') return [slowLogin('subgraph-auth'), slowLogin('subgraph-auth')];
  if (service === 'subgraph-image') return [await slowUpload('subgraph-image'), await slowUpload('gateway')];
  return [slowLogin('gateway'), await slowUpload('gateway'), await slowUpload('gateway')];
}

test.each<ServiceName>(['subgraph-auth', 'subgraph-image', 'gateway'])(
  'SIGTERM to %s during in-flight requests: they complete, new connections are refused, it exits in time',
  async (service) => {
    const imagesBefore = (await sys.counts()).images;
    const port = ports(sys)[service];
    const work = await inFlightFor(service);
    let settledAt = 0;
    const allSettled = Promise.all(work.map((w) => w.answer)).finally(() => {
      settledAt = Date.now();
    });
    // Every request connected and part-way through its body (well before any could finish).
    await Promise.all(work.map((w) => w.streaming));
    const exit = sys.signal(service, 'SIGTERM');

    const pollStarted = Date.now();
    await eventually('a new connection refused', 3_000, () => connectionRefused(port), 25);
    const refusedAt = Date.now();

    const answers = await allSettled;
    // Refused while the in-flight requests were still being served, not merely after they ended.
    expect(refusedAt).toBeLessThan(settledAt);
    for (const [i, answer] of answers.entries()) {
      const item = work[i]!;
      if (!item.success.test(answer.text))
        throw new Error(`${item.what} did not complete: ${answer.status} ${answer.text.slice(-400)}`);
    }

    const exited = await exit;
    expect(exited.code).toBe(0);
    expect(exited.ms).toBeLessThan(EXIT_BOUND_MS);
    process.stdout.write(
      `${JSON.stringify({ service, exitMs: exited.ms, refusedAfterSignalMs: refusedAt - pollStarted, inFlight: work.length })}\n`,
    );

    const uploads = work.filter((w) => w.what.includes('upload')).length;
    expect((await sys.counts()).images - imagesBefore).toBe(uploads);
    expect(await sys.storageProblems()).toEqual([]);

    await sys.startService(service, { waitFor: 'ready' });
    if (service !== 'gateway') {
      await eventually(
        'the gateway ready again',
        20_000,
        async () => (await fetch(`${sys.url('gateway')}/readyz`)).status === 200,
      );
    }
    const after = await sys.login(email, password);
    expect(after.accessToken).toBeTruthy();
  },
);
