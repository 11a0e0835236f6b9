import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { sleep } from './helpers/files.js';
import { DATA_PATHS } from './helpers/harness.js';
import { getJson, request } from './helpers/http.js';
import { useSharedBaton } from './helpers/shared-baton.js';

describe.each(DATA_PATHS)('a hostile client, on the %s', (_path, pathFlags) => {
  const shared = useSharedBaton(pathFlags);
  let url: string;
  let port: number;
  beforeAll(() => ({ url, port } = shared));
  const reloadDrainsCleanly = (): Promise<void> => shared.reloadDrainsCleanly();

  /** Sends raw bytes on a new connection; resolves with everything received until the server closes it. */
  function raw(bytes: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => (received += c));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      socket.setTimeout(10_000, () => socket.destroy());
    });
  }


  /** Responses must not carry internal addresses or stack traces. */
  function expectNothingInternal(text: string): void {
    expect(text).not.toMatch(/127\.0\.0\.1:\d+|localhost:\d+/);
    expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  }

  describe('hostile and malformed client input', () => {
    it('a malformed request line gets 400 and the connection closed', async () => {
      const reply = await raw('THIS IS NOT HTTP\r\n\r\n');
      expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request/);
      expectNothingInternal(reply);
    });

    it('oversized headers get 431', async () => {
      const reply = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`);
      expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    });

    it('conflicting Content-Length and Transfer-Encoding is refused with 400', async () => {
      const reply = await raw('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
      expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    });

    it('hop-by-hop headers are not forwarded in either direction; X-Forwarded-* are added', async () => {
      const seen = await getJsonWith(`${url}/headers`, {
        connection: 'keep-alive, X-Secret',
        'x-secret': 'hop',
        'keep-alive': 'timeout=99',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'proxy-connection': 'keep-alive',
        te: 'trailers',
        'x-end-to-end': 'kept',
      });
      for (const name of ['x-secret', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te']) expect(seen[name], name).toBeUndefined();
      expect(seen['x-end-to-end']).toBe('kept');
      expect(seen['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen['x-forwarded-proto']).toBe('http');

      const reply = await request(`${url}/hop-response`);
      expect(reply.status).toBe(200);
      expect(reply.headers['x-internal']).toBeUndefined();
      expect(reply.headers['proxy-authenticate']).toBeUndefined();
      expect(reply.headers['keep-alive']).not.toBe('timeout=1');
    });

    it('X-Forwarded-* are appended to what the client sent; Host and X-Forwarded-Host go through as sent', async () => {
      const seen = await getJsonWith(`${url}/headers`, { host: 'example.com:8080', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https' });
      expect(seen.host).toBe('example.com:8080');
      expect(seen['x-forwarded-for']).toBe('10.0.0.1,127.0.0.1');
      expect(seen['x-forwarded-proto']).toBe('https,http');
      expect(seen['x-forwarded-port']).toBe('8080');
      expect(seen['x-forwarded-host']).toBe('example.com:8080');
      const kept = await getJsonWith(`${url}/headers`, { 'x-forwarded-host': 'public.example' });
      expect(kept['x-forwarded-host']).toBe('public.example');
    });

    it('a DELETE with a chunked body reaches the gateway still chunked (never relabelled Content-Length: 0)', async () => {
      const seen = await request(`${url}/headers`, { method: 'DELETE', headers: { 'transfer-encoding': 'chunked' }, body: 'GET /__hits HTTP/1.1\r\n\r\n' });
      const headers = JSON.parse(seen.body) as Record<string, string>;
      expect(headers['transfer-encoding']).toBe('chunked');
      expect(headers['content-length']).toBeUndefined();
    });

    it('repeated response headers (Set-Cookie) reach the client as separate headers', async () => {
      const reply = await request(`${url}/cookies`);
      expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    });

    it('a client that stops reading a large response does not hold up others, and leaks nothing once gone', async () => {
      const stalled = net.connect(port, '127.0.0.1', () => stalled.write('GET /big?mb=64 HTTP/1.1\r\nHost: x\r\n\r\n'));
      stalled.pause();
      await sleep(300);
      const others = await Promise.all(Array.from({ length: 10 }, () => getJson(url)));
      expect(others.every((b) => b.version === `v${shared.generation}`)).toBe(true);
      stalled.destroy();
      await sleep(100);
      await reloadDrainsCleanly();
    });

    it('a slowloris client does not block other clients, and is never counted as in flight', async () => {
      const slow = net.connect(port, '127.0.0.1');
      slow.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => slow.write('X-Drip: 1\r\n'), 50);
      try {
        await sleep(200);
        const others = await Promise.all(Array.from({ length: 10 }, () => getJson(url)));
        expect(others).toHaveLength(10);
        await reloadDrainsCleanly();
      } finally {
        clearInterval(drip);
        slow.destroy();
      }
    });

    it('a client that disconnects mid-request leaves nothing in flight', async () => {
      for (let i = 0; i < 5; i++) {
        const gone = net.connect(port, '127.0.0.1', () => gone.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial body'));
        await sleep(30);
        gone.destroy();
      }
      const midResponse = net.connect(port, '127.0.0.1', () => midResponse.write('GET /slow?ms=2000 HTTP/1.1\r\nHost: x\r\n\r\n'));
      await sleep(200);
      midResponse.destroy();
      await sleep(100);
      await reloadDrainsCleanly();
      expect((await getJson(url)).version).toBe(`v${shared.generation}`);
    });

    it('a WebSocket client that vanishes mid-session leaves no upstream socket counted', async () => {
      for (let i = 0; i < 3; i++) {
        const socket = net.connect(port, '127.0.0.1', () =>
          socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
        );
        socket.on('error', () => {});
        await new Promise<void>((resolve) => socket.once('data', () => resolve()));
        socket.resetAndDestroy();
      }
      await sleep(100);
      await reloadDrainsCleanly();
    });

    it('error answers name the problem without internal addresses or stack traces', async () => {
      const reset = await request(`${url}/reset`);
      expect(reset.status).toBe(502);
      expectNothingInternal(reset.body);
      expect(reset.body).toMatch(/^baton: gateway generation \d+ failed before answering \(ECONNRESET\)\n$/);
    });

    it('baton listens on 127.0.0.1 unless --host says otherwise', () => {
      expect(new URL(url).hostname).toBe('127.0.0.1');
    });
  });

  function getJsonWith(target: string, headers: Record<string, string>): Promise<Record<string, string>> {
    return request(target, { headers }).then((r) => JSON.parse(r.body) as Record<string, string>);
  }
});
