import net from 'node:net';

/** How `converse` talks. */
export interface ConverseOptions {
  /** Pause between parts, so each arrives as its own read. @default 40 */
  pauseMs?: number;
  /** Half-close (FIN) after the last part, as a client that is done sending. @default false */
  halfClose?: boolean;
  /** A reset by the server ends the conversation like a close (what arrived before it is kept). @default false */
  resetIsClose?: boolean;
}

/**
 * Writes `parts` on one new connection, each after the previous one was flushed and a
 * short pause (so they arrive as separate reads), and resolves with every byte received
 * until the server closes the connection.
 */
export function converse(port: number, parts: readonly string[], options: ConverseOptions | number = {}): Promise<string> {
  const { pauseMs = 40, halfClose = false, resetIsClose = false } = typeof options === 'number' ? { pauseMs: options } : options;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (received += c));
    socket.on('close', () => resolve(received));
    socket.on('error', (err: NodeJS.ErrnoException) => (resetIsClose && err.code === 'ECONNRESET' ? resolve(received) : reject(err)));
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no close within 10 s; received so far:\n${received.slice(0, 2000)}`)));
    void (async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, pauseMs));
        await new Promise<void>((r) => socket.write(part, 'latin1', () => r()));
      }
      if (halfClose) socket.end();
    })();
  });
}

export interface RawResponse {
  status: number;
  /** Field names lower-cased; a repeated field keeps every value, joined with '\n'. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Splits what a server sent on one connection into responses, decoding each framing;
 * `heads` lists the indexes of responses to HEAD requests (which have no body).
 */
export function parseResponses(text: string, heads: readonly number[] = []): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end === -1) throw new Error(`a response head never ended: ${JSON.stringify(text.slice(at, at + 200))}`);
    const [statusLine, ...lines] = text.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}\n${value}` : value;
    }
    at = end + 4;
    let body = '';
    if (status < 200 || status === 204 || status === 304 || heads.includes(out.length)) {
      // no body
    } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      for (;;) {
        const lineEnd = text.indexOf('\r\n', at);
        const size = parseInt(text.slice(at, lineEnd), 16);
        at = lineEnd + 2;
        if (size === 0) {
          at = text.indexOf('\r\n', at) + 2; // no trailer fields expected from baton
          break;
        }
        body += text.slice(at, at + size);
        at += size + 2;
      }
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = text.slice(at, at + length);
      at += length;
    } else {
      body = text.slice(at);
      at = text.length;
    }
    out.push({ status, headers, body });
  }
  return out;
}
