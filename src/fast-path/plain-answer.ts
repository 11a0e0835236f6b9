import { STATUS_CODES } from 'node:http';

/**
 * baton's own answer (502, 503, 504) as raw bytes: a one-line text body, never cached,
 * with `Retry-After: 1` on a 503. The same fields node:http's path sends (front-server.ts).
 */
export function plainAnswer(status: number, text: string, keepAlive: boolean, headRequest: boolean): string {
  const body = `${text}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    'content-type: text/plain; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'cache-control: no-store\r\n' +
    (status === 503 ? 'retry-after: 1\r\n' : '') +
    (keepAlive ? 'connection: keep-alive\r\nkeep-alive: timeout=5\r\n\r\n' : 'connection: close\r\n\r\n') +
    (headRequest ? '' : body)
  );
}
