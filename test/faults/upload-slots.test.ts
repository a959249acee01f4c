/**
 * Upload slot starvation (hardening issue 11, finding 3): one user opens 70 uploads through the
 * gateway and trickles them at a byte a second. Another user's small upload must still be answered
 * promptly: the gateway's slot pool caps each user and address, so the trickles cannot take every
 * connection to the image subgraph. The gateway runs with its production defaults for the caps.
 */
import net from 'node:net';
import { codesOf, multipartUpload } from '@imagehub/test-kit';
import { uniquePng } from '../support/images';
import { requestHead } from '../support/raw-http';
import { System } from '../support/system';

const TRICKLES = 70;

let sys: System;

beforeAll(async () => {
  sys = await System.start({
    database: 'embedded',
    // Back to the defaults (the harness raises them for suites that upload in bursts from 127.0.0.1).
    env: { gateway: { UPLOAD_SLOTS_PER_USER: '2', UPLOAD_SLOTS_PER_IP: '8' } },
  });
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

/** Sends the multipart head and the first bytes of the file, then one byte a second until closed. */
function trickle(token: string, file: Buffer): { socket: net.Socket; answered: Promise<number> } {
  const { body, contentType } = multipartUpload(file, { filename: 'slow.png' });
  const head = requestHead('POST', '/graphql', sys.gatewayPort, {
    'content-type': contentType,
    'content-length': body.length,
    'apollo-require-preflight': 'true',
    authorization: `Bearer ${token}`,
  });
  const fileStarts = body.indexOf(file.subarray(0, 16));
  const socket = net.connect(sys.gatewayPort, '127.0.0.1');
  let sent = fileStarts + 8;
  let timer: NodeJS.Timeout | undefined;
  const answered = new Promise<number>((resolve) => {
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (status) resolve(Number(status[1]));
    });
    socket.on('close', () => resolve(0));
    socket.on('error', () => resolve(0));
  });
  socket.on('connect', () => {
    socket.write(head);
    socket.write(body.subarray(0, sent));
    timer = setInterval(() => {
      if (socket.destroyed || sent >= body.length - 1) return;
      socket.write(body.subarray(sent, sent + 1));
      sent++;
    }, 1_000);
  });
  socket.on('close', () => clearInterval(timer));
  return { socket, answered };
}

test(`with ${TRICKLES} trickling uploads from one user in flight, another user's small upload is answered in under 5 s`, async () => {
  const attacker = await sys.register();
  const victim = await sys.register();
  const file = await uniquePng(400, 300);
  const trickles = Array.from({ length: TRICKLES }, () => trickle(attacker.accessToken, file));
  try {
    // Let every trickle reach the gateway and be admitted or refused.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const started = Date.now();
    const result = await sys.upload(await uniquePng(), victim.accessToken, {
      signal: AbortSignal.timeout(30_000),
    });
    const elapsedMs = Date.now() - started;
    expect(codesOf(result)).toEqual([]);
    expect(elapsedMs).toBeLessThan(5_000);
    // The attacker's surplus uploads were told so, rather than left hanging.
    const answers = await Promise.all(
      trickles.map(({ answered }) =>
        Promise.race([answered, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 100))]),
      ),
    );
    expect(answers.filter((status) => status === 429).length).toBeGreaterThanOrEqual(TRICKLES - 2);
  } finally {
    for (const { socket } of trickles) socket.destroy();
  }
  // The gateway is still answering.
  const after = await sys.upload(await uniquePng(), victim.accessToken);
  expect(codesOf(after)).toEqual([]);
  expect(await sys.storageProblems()).toEqual([]);
});
