import { describe, expect, it } from 'vitest';
import { ChunkedDecoder, ChunkedSyntaxError } from '../src/proxy/fast-path/chunked.js';
import type { Refusal } from '../src/proxy/edge/request-rules.js';
import { parseRequestHead, type RequestHead } from '../src/proxy/fast-path/request-head.js';
import { LastHead } from '../src/proxy/fast-path/last-head.js';
import { parseResponseHead, ResponseHeads, type ResponseHead } from '../src/proxy/fast-path/response-head.js';
import { afterFailure, isReplayable, wantsFreshConnection } from '../src/proxy/retry-policy.js';

const req = (text: string): RequestHead | Refusal | string => parseRequestHead(Buffer.from(text, 'latin1'), 0, '10.0.0.7', '127.0.0.1:8080');
const res = (text: string, head = false): ResponseHead | string => {
  const parsed = parseResponseHead(Buffer.from(text, 'latin1'), 0, head);
  return typeof parsed === 'string' ? parsed : 'error' in parsed ? `error: ${parsed.error}` : parsed;
};
const fast = (text: string): RequestHead => {
  const head = req(text);
  if (typeof head === 'string' || 'status' in head) throw new Error(`not fast: ${JSON.stringify(head)}`);
  return head;
};

describe('parseRequestHead', () => {
  it('rewrites a plain GET for the gateway', () => {
    const head = fast('GET /a?b=1 HTTP/1.1\r\nHost: example.test:8080\r\nAccept: */*\r\n\r\n');
    expect(head.upstream).toBe(
      'GET /a?b=1 HTTP/1.1\r\nHost: example.test:8080\r\nAccept: */*\r\n' +
        'x-forwarded-for: 10.0.0.7\r\nx-forwarded-port: 8080\r\nx-forwarded-proto: http\r\nx-forwarded-host: example.test:8080\r\nconnection: keep-alive\r\n\r\n',
    );
    expect(head).toMatchObject({ method: 'GET', contentLength: 0, close: false, size: 61 });
  });

  it('drops hop-by-hop fields and those Connection names; appends to X-Forwarded-*', () => {
    const head = fast(
      'POST /p HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret, close\r\nX-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\n' +
        'Proxy-Authorization: x\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\nX-Forwarded-Host: orig\r\nContent-Length: 3\r\n\r\nabc',
    );
    expect(head.upstream).toBe(
      'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n' +
        'x-forwarded-for: 1.1.1.1, 2.2.2.2,10.0.0.7\r\nx-forwarded-port: 80\r\nx-forwarded-proto: http\r\nx-forwarded-host: orig\r\nconnection: keep-alive\r\n\r\n',
    );
    expect(head).toMatchObject({ contentLength: 3, close: true });
  });

  it('takes the port of an IPv6 Host, not a digit inside the address', () => {
    expect(fast('GET / HTTP/1.1\r\nHost: [::1]:9000\r\n\r\n').upstream).toContain('x-forwarded-port: 9000\r\n');
    expect(fast('GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n').upstream).toContain('x-forwarded-port: 80\r\n');
  });

  it('waits for the rest of a head', () => {
    expect(req('GET / HTTP/1.1\r\nHost: x\r\n')).toBe('incomplete');
  });

  it.each([
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: x\r\n\r\n'],
    ['HTTP/1.0 without Host', 'GET / HTTP/1.0\r\n\r\n'],
    ['an extension method', 'PURGE / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a chunked body', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['a WebSocket upgrade', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['Expect', 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n'],
  ])('hands %s to node:http', (_what, text) => {
    expect(req(text)).toBe('hand-over');
  });

  it.each([
    ['CONNECT', 'CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n', 501],
    ['Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['two Content-Lengths', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n', 400],
    ['a non-numeric Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\n', 400],
    ['a Transfer-Encoding other than chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 400],
    ['no Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', 400],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['an invalid Host', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n', 400],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
    ['a bare LF', 'GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n', 400],
    ['a bare LF that never ends the head', 'GET / HTTP/1.1\r\nHost: x\n\n', 400],
    ['a control byte in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['two spaces in the request line', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['HTTP/0.9', 'GET /\r\n\r\n', 400],
    ['HTTP/2.0 in a request line', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
    ['garbage', 'THIS IS NOT HTTP\r\n\r\n', 400],
    ['an unsupported Expect', 'GET / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n', 417],
    ['more than 1000 fields', `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: 1\r\n'.repeat(1001)}\r\n`, 431],
    ['a head over 16 KiB', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431],
    ['a head over 64 KiB that has not ended', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(65 * 1024)}`, 431],
  ])('refuses %s', (_what, text, status) => {
    expect(req(text)).toMatchObject({ status });
  });

  it('keeps Host, Content-Length and Transfer-Encoding when Connection names them', () => {
    const head = fast('GET / HTTP/1.1\r\nHost: a\r\nConnection: host, content-length, x-drop\r\nX-Drop: 1\r\nContent-Length: 2\r\n\r\nab');
    expect(head.upstream).toMatch(/^GET \/ HTTP\/1\.1\r\nHost: a\r\nContent-Length: 2\r\nx-forwarded-for/);
    expect(head.contentLength).toBe(2);
  });

  it('forwards an absolute-form target in origin-form, with Host from the target', () => {
    const head = fast('GET http://other.test:9000/abs?q=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(head.upstream).toMatch(/^GET \/abs\?q=1 HTTP\/1\.1\r\nHost: other\.test:9000\r\n/);
    expect(head.upstream).toContain('x-forwarded-host: other.test:9000\r\n');
  });

  it('serves a non-WebSocket Upgrade as plain HTTP/1.1, without Upgrade and HTTP2-Settings', () => {
    const head = fast('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMA\r\n\r\n');
    expect(head.upstream).not.toMatch(/upgrade|http2-settings/i);
  });

  it('waits for a head that arrives in pieces, however long, up to the raw limit', () => {
    expect(req(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40 * 1024)}`)).toBe('incomplete');
  });

  it('reads a head that starts inside a buffer (pipelining)', () => {
    const text = 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n';
    const head = parseRequestHead(Buffer.from(text), 28, '::1', '[::1]:8080');
    expect(typeof head !== 'string' && 'upstream' in head && head.upstream.startsWith('GET /2 HTTP/1.1\r\n')).toBe(true);
  });
});

describe('LastHead and ResponseHeads: a repeated head is not parsed again', () => {
  const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

  it('matches only the same bytes at the same place, and only whole', () => {
    const last = new LastHead<string>();
    const head = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
    expect(last.match(bytes(head), 0)).toBeUndefined();
    last.remember(bytes(`xx${head}body`), 2, head.length, 'first');
    expect(last.match(bytes(head), 0)).toBe('first');
    expect(last.match(bytes(`${head}GET /next`), 0)).toBe('first');
    expect(last.match(bytes(`zz${head}`), 2)).toBe('first');
    expect(last.match(bytes(head.slice(0, -1)), 0)).toBeUndefined(); // not all there yet
    expect(last.match(bytes(head.replace('x', 'y')), 0)).toBeUndefined();
    expect(last.match(bytes(`z${head}`), 0)).toBeUndefined();
    last.remember(bytes(head.replace('x', 'y')), 0, head.length, 'second'); // same size: the buffer is reused
    expect(last.match(bytes(head), 0)).toBeUndefined();
    expect(last.match(bytes(head.replace('x', 'y')), 0)).toBe('second');
  });

  it('a head read for a HEAD request frames no body; the same bytes for a GET frame one', () => {
    const heads = new ResponseHeads();
    const text = bytes('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
    const read = (headRequest: boolean) => {
      const r = heads.read(text, 0, headRequest);
      if (typeof r === 'string' || 'error' in r) throw new Error(String(r));
      return r;
    };
    expect(read(true).head.body).toBe('none');
    expect(read(false).head.body).toBe('length');
    expect(read(false)).toBe(read(false)); // remembered
    expect(read(true).head.body).toBe('none');
    expect(read(false).clientHead(true).toString('latin1')).toBe('HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: keep-alive\r\nkeep-alive: timeout=5\r\n\r\n');
    expect(read(false).clientHead(false).toString('latin1')).toBe('HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\n');
    expect(heads.read(bytes('HTTP/1.1 200 OK\r\nContent-Length: 1'), 0, false)).toBe('incomplete');
    expect(heads.read(bytes('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n'), 0, false)).toEqual({ error: 'Content-Length not a number' });
  });
});

describe('parseResponseHead', () => {
  it.each([
    ['Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', false, 'length', false],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', false, 'chunked', false],
    ['chunked wins over Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', false, 'chunked', false],
    ['another transfer coding: until close', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', false, 'close', true],
    ['no length: until close', 'HTTP/1.1 200 OK\r\n\r\n', false, 'close', true],
    ['204', 'HTTP/1.1 204 No Content\r\n\r\n', false, 'none', false],
    ['304 with a length', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', false, 'none', false],
    ['a HEAD answer', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', true, 'none', false],
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n', false, 'length', true],
    ['HTTP/1.0 keep-alive', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n', false, 'length', false],
    ['Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n', false, 'length', true],
  ])('frames %s', (_what, text, head, body, close) => {
    expect(res(text, head)).toMatchObject({ body, close });
  });

  it('rewrites the head for the client: hop-by-hop out, chunked when baton re-frames', () => {
    const head = res('HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: s\r\nKeep-Alive: timeout=3\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n') as ResponseHead;
    expect(head.client).toBe('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\ntransfer-encoding: chunked\r\n');
    expect(head.keepAliveMs).toBe(3000);
    const sized = res('HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n') as ResponseHead;
    expect(sized.client).toBe('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n');
  });

  it('marks 1xx answers as interim', () => {
    expect(res('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n')).toMatchObject({ interim: true, body: 'none' });
  });

  it.each([
    ['a status below 100', 'HTTP/1.1 099 Weird\r\n\r\n', 'error: status code 99 below 100'],
    ['an unasked-for 101', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', 'error: unexpected 101 Switching Protocols'],
    ['conflicting lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'error: conflicting Content-Length'],
    ['a bad length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'error: Content-Length not a number'],
    ['a malformed field', 'HTTP/1.1 200 OK\r\nbad field\r\n\r\n', 'error: malformed header field'],
    ['a malformed status line', 'HTTP/2 200\r\n\r\n', 'error: malformed status line'],
  ])('refuses %s', (_what, text, expected) => {
    expect(res(text)).toBe(expected);
  });
});

describe('ChunkedDecoder', () => {
  const body = '5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 1\r\n\r\n';

  it('decodes a body split at every byte, and finds its end', () => {
    const input = Buffer.from(`${body}NEXT`);
    for (let cut = 0; cut <= body.length; cut++) {
      const decoder = new ChunkedDecoder();
      let data = '';
      const onData = (b: Buffer): void => void (data += b.toString());
      const first = decoder.feed(input.subarray(0, cut), 0, onData);
      const end = first === -1 ? cut + decoder.feed(input.subarray(cut), 0, onData) : first;
      expect(data).toBe('helloabcdefghijklmnopqrstuvwxyz');
      expect(end).toBe(body.length);
    }
  });

  it.each([
    ['a missing size', '\r\nhello\r\n'],
    ['a non-hex size', 'g\r\n'],
    ['data longer than its size', '2\r\nabc\r\n'],
    ['a size too large', '1000000000000\r\n'],
    ['a bare LF after the size', '5\nhello\r\n'],
  ])('throws on %s', (_what, text) => {
    expect(() => new ChunkedDecoder().feed(Buffer.from(text), 0, () => {})).toThrow(ChunkedSyntaxError);
  });
});

describe('retry policy', () => {
  it('replays only body-less idempotent requests', () => {
    expect(isReplayable('GET', false)).toBe(true);
    expect(isReplayable('DELETE', false)).toBe(true);
    expect(isReplayable('GET', true)).toBe(false);
    expect(isReplayable('POST', false)).toBe(false);
    expect(afterFailure('ECONNRESET', undefined, false)).toEqual({ action: 'answer' });
  });

  it('retries a reset once on a fresh connection, then only to a successor, then answers', () => {
    const first = afterFailure('ECONNRESET', undefined, true);
    expect(first).toEqual({ action: 'retry', retries: { ECONNRESET: 1 }, waitMs: 0, onlyToSuccessor: false });
    expect(wantsFreshConnection(first.action === 'retry' ? first.retries : undefined)).toBe(true);
    const second = afterFailure('ECONNRESET', { ECONNRESET: 1 }, true);
    expect(second).toEqual({ action: 'retry', retries: { ECONNRESET: 1, gone: 1 }, waitMs: 250, onlyToSuccessor: true });
    expect(afterFailure('ECONNRESET', { ECONNRESET: 1, gone: 1 }, true)).toEqual({ action: 'answer' });
  });

  it('retries a refused connection three times, each after the generation is gone or a second', () => {
    let retries = {};
    for (let i = 1; i <= 3; i++) {
      const next = afterFailure('ECONNREFUSED', retries, true);
      expect(next).toEqual({ action: 'retry', retries: { ECONNREFUSED: i }, waitMs: 1000, onlyToSuccessor: false });
      if (next.action === 'retry') retries = next.retries;
    }
    expect(afterFailure('ECONNREFUSED', retries, true)).toEqual({ action: 'answer' });
    expect(afterFailure('ETIMEDOUT', undefined, true)).toEqual({ action: 'answer' });
  });
});
