import http from 'node:http';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATA_PATHS } from './helpers/harness.js';
import { getJson, request } from './helpers/http.js';
import { useSharedBaton } from './helpers/shared-baton.js';
import { converse, parseResponses } from './helpers/raw-http.js';

// baton reads plain HTTP/1.1 itself (src/proxy/fast-path) and hands everything else to
// node:http at a request boundary. These tests drive both paths, and the hand-over
// between them, on raw sockets; each ends with a reload whose drain must reach zero.

describe.each(DATA_PATHS)('plain HTTP/1.1 and the hand-over, on the %s', (_path, pathFlags) => {
  const shared = useSharedBaton(pathFlags);
  let url: string;
  let port: number;
  beforeAll(() => ({ url, port } = shared));
  const reloadDrainsCleanly = (): Promise<void> => shared.reloadDrainsCleanly();

  const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
  const last = (path: string): string => get(path, 'Connection: close\r\n');
  const chunkedPost = (path: string, body: string): string =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;


  /** Sends `request`, reads the head, stops reading for a while (baton's writes back up), then reads the body to the close. */
  const slowRead = (port: number, request: string): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const parts: Buffer[] = [];
      let paused = false;
      socket.on('data', (chunk: Buffer) => {
        parts.push(chunk);
        if (paused) return;
        paused = true;
        socket.pause();
        setTimeout(() => socket.resume(), 400);
      });
      socket.on('error', reject);
      socket.on('close', () => {
        const all = Buffer.concat(parts);
        const end = all.indexOf('\r\n\r\n');
        const head = all.subarray(0, end).toString('latin1');
        const rest = all.subarray(end + 4);
        resolve(/transfer-encoding: chunked/i.test(head) ? dechunk(rest) : rest);
      });
      socket.write(request);
    });
  const dechunk = (data: Buffer): Buffer => {
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const line = data.indexOf('\r\n', at);
      const size = parseInt(data.subarray(at, line).toString('latin1'), 16);
      if (!(size > 0)) break;
      out.push(data.subarray(line + 2, line + 2 + size));
      at = line + 2 + size + 2;
    }
    return Buffer.concat(out);
  };

  const paths = (text: string): unknown[] => parseResponses(text).map((r) => (JSON.parse(r.body) as { path: string }).path);

  describe('the fast path and the hand-over to node:http', () => {
    it('answers pipelined requests in order, on one connection', async () => {
      const text = await converse(port, [get('/a') + get('/b') + last('/c')]);
      expect(paths(text)).toEqual(['/a', '/b', '/c']);
    });

    it('a head split across reads goes to node:http, and the connection keeps working', async () => {
      const text = await converse(port, ['GET /split HTTP/1.1\r\nHo', 'st: x\r\n\r\n', get('/after') + last('/end')]);
      expect(paths(text)).toEqual(['/split', '/after', '/end']);
    });

    it('a chunked request after fast ones is handed over mid-connection with nothing lost', async () => {
      const text = await converse(port, [get('/first') + chunkedPost('/echo', 'hello') + last('/then')]);
      const replies = parseResponses(text);
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(replies[1]!.body).toBe('hello');
      expect((JSON.parse(replies[2]!.body) as { path: string }).path).toBe('/then');
    });

    it('a hand-over whose request arrives in pieces afterwards is still read whole', async () => {
      const post = chunkedPost('/echo', 'in pieces');
      const cut = post.indexOf('\r\n\r\n') + 6;
      const text = await converse(port, [get('/first') + post.slice(0, cut), post.slice(cut), last('/end')]);
      const replies = parseResponses(text);
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(replies[1]!.body).toBe('in pieces');
    });

    it('HTTP/1.0 and Expect: 100-continue go through node:http', async () => {
      const old = parseResponses(await converse(port, ['GET /old HTTP/1.0\r\nHost: x\r\n\r\n']));
      expect(old[0]!.status).toBe(200);
      expect(old[0]!.headers.connection).toBe('close');
      const text = await converse(port, ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n', 'body']);
      const replies = parseResponses(text);
      expect(replies.map((r) => r.status)).toEqual([100, 200]);
      expect(replies[1]!.body).toBe('body');
    });

    it('a Content-Length body is forwarded exactly, and the next request on the connection is read after it', async () => {
      const body = 'x'.repeat(70_000);
      const head = `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`;
      const text = await converse(port, [head + body.slice(0, 1000), body.slice(1000) + last('/next')]);
      const replies = parseResponses(text);
      expect(replies[0]!.body).toBe(body);
      expect((JSON.parse(replies[1]!.body) as { path: string }).path).toBe('/next');
    });

    it('a close-delimited gateway response reaches the client chunked, and the client connection stays open', async () => {
      const text = await converse(port, [get('/close-delimited') + last('/after')]);
      const replies = parseResponses(text);
      expect(replies[0]!.headers['transfer-encoding']).toBe('chunked');
      expect(replies[0]!.headers.connection).toBe('keep-alive');
      expect(replies[0]!.body).toBe(`until the gateway closes v${shared.generation}\n`);
      expect((JSON.parse(replies[1]!.body) as { path: string }).path).toBe('/after');
    });

    it('an interim 103 from the gateway is dropped; the final response follows on the same connection', async () => {
      const replies = parseResponses(await converse(port, [get('/early-hints') + last('/after')]));
      expect(replies.map((r) => r.status)).toEqual([200, 200]);
      expect(replies[0]!.body).toBe('hints\n');
    });

    it('a chunked body with trailer fields arrives whole (the trailers are dropped, as node:http drops them)', async () => {
      const replies = parseResponses(await converse(port, [last('/trailers')]));
      expect(replies[0]!.body).toBe('with trailer\n');
      expect(replies[0]!.headers.trailer).toBeUndefined();
    });

    it('HEAD gets the head only, and the connection goes on', async () => {
      const text = await converse(port, ['HEAD /big?mb=1 HTTP/1.1\r\nHost: x\r\n\r\n' + last('/after')]);
      const replies = parseResponses(text, [0]);
      expect(replies[0]!.headers['content-length']).toBe(String(1024 * 1024));
      expect((JSON.parse(replies[1]!.body) as { path: string }).path).toBe('/after');
    });

    // The fast path reuses the verdict for a head equal to the connection's last one
    // (fast-path/last-head.ts): a head that differs in one byte must be read afresh, and
    // a response head seen for a HEAD must still frame a GET's body (and the reverse).
    it('the same request head again, then one differing in one byte, each mean what they say', async () => {
      const headers = (tag: string, extra = ''): string => get('/headers', `X-Tag: ${tag}\r\n${extra}`);
      const text = await converse(port, [headers('one') + headers('one') + headers('two') + headers('one', 'Connection: close\r\n')]);
      const tags = parseResponses(text).map((r) => (JSON.parse(r.body) as Record<string, string>)['x-tag']);
      expect(tags).toEqual(['one', 'one', 'two', 'one']);
    });

    it('HEAD, GET, HEAD of one resource on one connection: each framed by its own method', async () => {
      const head = 'HEAD /big?mb=1 HTTP/1.1\r\nHost: x\r\n\r\n';
      const text = await converse(port, [head + get('/big?mb=1') + head + last('/after')]);
      const replies = parseResponses(text, [0, 2]);
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(replies.slice(0, 3).map((r) => r.body.length)).toEqual([0, 1024 * 1024, 0]);
      expect(replies[1]!.body).toBe('b'.repeat(1024 * 1024));
      expect((JSON.parse(replies[3]!.body) as { path: string }).path).toBe('/after');
    });

    // The fast path reads upstream sockets into a reused buffer (upstream-pool.ts): while a
    // client write is still in flight the next read must go elsewhere. A client that stops
    // reading makes every write wait; each byte is checked where it lands.
    it.each([
      ['length', 16 * 1024],
      ['length', 1024],
      ['chunked', 1024],
      ['close', 1024],
    ])('a large %s answer in %i-byte pieces reaches a client that stops reading, every byte in place', async (framing, piece) => {
      const kib = 16 * 1024;
      const body = await slowRead(port, `GET /pattern?kib=${kib}&framing=${framing}&piece=${piece} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(body.length).toBe(kib * 1024);
      let wrong = -1;
      for (let i = 0; i < body.length && wrong === -1; i++) if (body[i] !== ((i * 7 + (i >> 12)) & 255)) wrong = i;
      expect(wrong).toBe(-1);
    });

    it('Connection: close from the client is honoured after the answer', async () => {
      const replies = parseResponses(await converse(port, [last('/bye')]));
      expect(replies.map((r) => r.headers.connection)).toEqual(['close']);
    });

    // RFC 9112 §9.6: nothing after a request with `close` is processed, on either path
    // (node:http's path stops its parser's later requests: node-path/request-order.ts).
    it('requests pipelined after Connection: close are not processed', async () => {
      const text = await converse(port, [last('/bye') + get('/never')]);
      expect(paths(text)).toEqual(['/bye']);
    });

    it('keeps upstream connections warm: requests one after another reuse one gateway connection', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const count = async (): Promise<number> => ((JSON.parse((await request(`${url}/__connections`, { agent })).body) as { accepted: number }).accepted);
        const before = await count();
        for (let i = 0; i < 40; i++) expect((await request(`${url}/r${i}`, { agent })).status).toBe(200);
        // 41 requests on one client connection: one gateway connection per request would be 41.
        expect((await count()) - before).toBeLessThanOrEqual(1);
      } finally {
        agent.destroy();
      }
    });

    it('closes connections left idle: after the keep-alive timeout, and after a last answer the client never closes on', async () => {
      /**
       * Sends one request on a client that never closes its side, and resolves when baton's
       * side is gone for good: after baton's FIN, a write gets a reset only once baton has
       * closed the socket, not while it merely stopped sending.
       */
      const closedByBaton = (request: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.write(request));
          let received = '';
          let poke: NodeJS.Timeout | undefined;
          socket.setEncoding('latin1');
          socket.on('data', (c: string) => (received += c));
          socket.on('end', () => (poke = setInterval(() => socket.write('x'), 200)));
          socket.on('error', () => {
            clearInterval(poke);
            socket.destroy();
            resolve(received);
          });
          setTimeout(() => {
            clearInterval(poke);
            socket.destroy();
            reject(new Error(`baton did not close the connection within 20 s; received:\n${received}`));
          }, 20_000).unref();
        });
      const [keptAlive, lastAnswer] = await Promise.all([closedByBaton(get('/idle')), closedByBaton(last('/last'))]);
      expect(paths(keptAlive)).toEqual(['/idle']);
      expect(paths(lastAnswer)).toEqual(['/last']);
    });

    it('drains to zero after all of the above', async () => {
      await reloadDrainsCleanly();
      expect((await getJson(url)).version).toBe(`v${shared.generation}`);
    });
  });
});
