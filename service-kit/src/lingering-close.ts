import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a refused body is read and dropped, at most, before the connection is closed. */
export const LINGER_MAX_BYTES = 16 * 1024 * 1024;
const LINGER_MAX_MS = 5_000;
/** A client that has stopped sending is not waited for. */
const LINGER_IDLE_MS = 1_000;

/**
 * Answers a request whose body is not wanted, then closes the connection the way Apache's
 * "lingering close" does. Closing while the client is still sending makes the kernel reset the
 * connection, and a client that is busy writing (Node's fetch, Apollo Client on a server) then
 * reports EPIPE instead of the answer. So the answer is written at once (complete, with its
 * length, so any client can read it), and the end of the response, which closes the connection,
 * waits until the body has been read and dropped: up to LINGER_MAX_BYTES, LINGER_MAX_MS, or until
 * the client pauses for LINGER_IDLE_MS, whichever comes first.
 */
export function answerThenLinger(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  maxBytes = LINGER_MAX_BYTES,
): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.setHeader('Connection', 'close');
  res.write(payload);

  let drained = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    clearTimeout(idle);
    req.off('data', onData);
    res.end();
    // Past the bound the rest of the body is not read: a reset then is the client's lookout.
    if (!req.complete) res.once('finish', () => req.socket.destroy());
  };
  const deadline = setTimeout(finish, LINGER_MAX_MS);
  let idle = setTimeout(finish, LINGER_IDLE_MS);
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > maxBytes) return finish();
    clearTimeout(idle);
    idle = setTimeout(finish, LINGER_IDLE_MS);
  };
  if (req.complete) {
    finish();
    return;
  }
  req.on('data', onData);
  req.once('end', finish);
  req.once('close', finish);
  req.once('error', () => {});
  req.resume();
}
