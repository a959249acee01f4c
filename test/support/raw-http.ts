/** HTTP over a bare socket, for requests fetch refuses to send: lying lengths, bodies cut off midway. */
import net from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed without answering. */
  status: number;
  text: string;
}

/**
 * Writes `head` and the first `sendBytes` of `body`, then either waits for the answer or (when
 * `abort`) destroys the socket, as a client that dies mid-upload would.
 */
export function rawRequest(
  port: number,
  head: string,
  body: Buffer,
  options: {
    sendBytes?: number;
    abort?: boolean;
    timeoutMs?: number;
    /** Send the body in this many pieces, `paceMs` apart: a slow client, so the request stays in flight. */
    pieces?: number;
    paceMs?: number;
    /** Called after each piece of the body is written (0 = the first), e.g. to know a request is in flight. */
    onPieceSent?: (index: number) => void;
  } = {},
): Promise<RawAnswer> {
  const sendBytes = options.sendBytes ?? body.length;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : 0, text });
    };
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => finish());
    socket.on('connect', async () => {
      socket.write(head);
      const toSend = body.subarray(0, sendBytes);
      const pieces = Math.max(1, options.pieces ?? 1);
      const size = Math.ceil(toSend.length / pieces);
      for (let offset = 0, index = 0; offset < toSend.length; offset += size, index++) {
        if (socket.destroyed) return;
        if (offset > 0 && options.paceMs) await new Promise((r) => setTimeout(r, options.paceMs));
        socket.write(toSend.subarray(offset, offset + size));
        options.onPieceSent?.(index);
      }
      if (options.abort) {
        // Let the server start on the part it has, then vanish.
        setTimeout(() => socket.destroy(), 200);
      }
    });
  });
}

export function requestHead(
  method: string,
  path: string,
  port: number,
  headers: Record<string, string | number>,
): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Whether a fresh TCP connection to the port is refused right now. */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
