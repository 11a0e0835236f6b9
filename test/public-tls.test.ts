import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { CLI, FIXTURE, ROOT } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { DATA_PATHS, startFixture, useHarness } from './helpers/harness.js';
import { Load } from './helpers/load.js';
import { converse } from './helpers/raw-http.js';

// HTTPS and HTTP/2 on the public port: --tls-cert/--tls-key, --tls self-signed; HTTP/1.1
// over TLS on both data paths, HTTP/2 streams routed, counted and drained like requests.

const TLS = path.join(ROOT, 'test/fixtures/tls');
const CA = readFileSync(path.join(TLS, 'ca.pem'));
const CERT_FLAGS = ['--tls-cert', path.join(TLS, 'localhost.pem'), '--tls-key', path.join(TLS, 'localhost.key')];
const h = useHarness();

/** One GET over HTTPS (HTTP/1.1), trusting the test CA. */
function getHttps(url: string, ca: Buffer = CA): Promise<{ status: number; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions & tls.ConnectionOptions = { ca, servername: 'localhost', agent: false, ALPNProtocols: ['http/1.1'] };
    const req = https.get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as tls.TLSSocket).alpnProtocol }));
    });
    req.on('error', reject);
  });
}

/** The body of one GET on an HTTP/2 session. */
function h2Body(session: http2.ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => resolve(body));
    stream.on('error', reject);
  });
}

/** Requests on one HTTP/2 session, `concurrent` streams at a time, until stopped: every answer's version, and every failure. */
function h2Load(url: string, concurrent: number): { stop: () => Promise<{ ok: number; failures: string[]; versions: string[] }> } {
  const session = http2.connect(url, { ca: CA, servername: 'localhost' });
  const failures: string[] = [];
  const versions: string[] = [];
  let ok = 0;
  let running = true;
  session.on('error', (err) => failures.push(`session: ${err.message}`));
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const stream = session.request({ ':path': '/', ':method': 'GET' });
      let body = '';
      let status = 0;
      stream.setEncoding('utf8');
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => {
        if (status !== 200) failures.push(`status ${status}: ${body.slice(0, 200)}`);
        else {
          ok++;
          const version = (JSON.parse(body) as { version: string }).version;
          if (!versions.includes(version)) versions.push(version);
        }
        resolve();
      });
      stream.on('error', (err) => {
        failures.push(`stream: ${err.message}`);
        resolve();
      });
    });
  const loops = Array.from({ length: concurrent }, async () => {
    while (running) await one();
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      session.close();
      return { ok, failures, versions };
    },
  };
}

/** Writes `text` over a TLS connection made with `options` (the test CA, `localhost`, HTTP/1.1) and resolves with all it received until the server ends it. */
function tlsConverse(options: tls.ConnectionOptions, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ca: CA, servername: 'localhost', ALPNProtocols: ['http/1.1'], ...options }, () => socket.write(text));
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (got += c));
    socket.on('end', () => resolve(got));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

/** A TCP connection to `port` whose first write (a TLS ClientHello) reaches the server as a 1-byte read, then the rest. */
function splitFirstByte(port: number): Duplex {
  const raw = net.connect(port, '127.0.0.1');
  let first = true;
  const carrier = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      if (!first) return void raw.write(chunk, done);
      first = false;
      raw.write(chunk.subarray(0, 1), () => setTimeout(() => raw.write(chunk.subarray(1), done), 50));
    },
    read() {},
  });
  raw.on('data', (c: Buffer) => carrier.push(c));
  raw.on('end', () => carrier.push(null));
  raw.on('error', (err) => carrier.destroy(err));
  return carrier;
}

/** How many TCP sockets process `pid` holds open (not the pipes to its children, which are sockets too). */
function socketsOf(pid: number): number {
  const tcp = new Set(
    ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/)[9]),
    ),
  );
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      return inode !== undefined && tcp.has(inode);
    } catch {
      return false; // closed while listed
    }
  }).length;
}

describe('the HTTPS port and what is not TLS', () => {
  it('plain HTTP gets a 400 that says the port speaks HTTPS; other bytes are closed; a handshake read a byte at a time still works', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, CERT_FLAGS);
    const port = Number(new URL(await h.baton.url()).port);
    await h.baton.serving(1);

    const pid = h.baton.child.pid!;
    const socketsBefore = socketsOf(pid);
    const plain = await converse(port, ['GET / HTTP/1.1\r\nHost: localhost\r\n\r\n']);
    expect(plain).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(plain).toMatch(/\r\nconnection: close\r\n/i);
    expect(plain).toContain('baton: plain HTTP was sent to an HTTPS port: use https://');
    const head = await converse(port, ['HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n']);
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).not.toContain('plain HTTP was sent');
    expect(await converse(port, ['\x00\x01garbage\r\n'], { resetIsClose: true })).toBe('');
    // A request line a byte at a time, and an upload still arriving when the 400 goes out:
    // each gets the 400, and baton closes each connection (none is left open).
    expect(await converse(port, ['G', 'ET', ' / HTTP/1.1\r\nHost: localhost\r\n\r\n'])).toMatch(/^HTTP\/1\.1 400 /);
    const body = 'x'.repeat(512 * 1024);
    const upload = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(`POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
      let got = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => (got += c));
      socket.on('close', () => resolve(got));
      socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(got) : reject(err)));
    });
    expect(upload).toMatch(/^HTTP\/1\.1 400 /);
    const deadline = Date.now() + 3000;
    while (socketsOf(pid) > socketsBefore && Date.now() < deadline) await sleep(50);
    expect(socketsOf(pid)).toBeLessThanOrEqual(socketsBefore);

    const answer = await tlsConverse({ socket: splitFirstByte(port) }, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('"version":"v1"');
  });
});

describe.each(DATA_PATHS)('HTTPS on the public port, on the %s', (_name, pathFlags) => {
  it('serves HTTP/1.1 over TLS and HTTP/2 on the same port, across saves under load with no failed request or stream', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, [...pathFlags, ...CERT_FLAGS]);
    const listening = await h.baton.waitFor((e) => e.type === 'listening');
    expect(listening.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(listening.tls).toEqual({ certificate: path.join(TLS, 'localhost.pem'), from: 'flags' });
    const url = (listening.url as string).replace('127.0.0.1', 'localhost');
    await h.baton.serving(1);
    const first = await getHttps(`${url}/headers`);
    expect(first.alpn).toBe('http/1.1');
    expect(JSON.parse(first.body)).toMatchObject({ 'x-forwarded-proto': 'https', 'x-forwarded-port': new URL(url).port });

    const h1 = new Load(url, { clients: 4, slowClients: 2, slowMs: 300, ca: CA });
    const h2 = h2Load(url, 4);
    for (let gen = 2; gen <= 4; gen++) {
      writeConfig(config, { version: `v${gen}` });
      await h.baton.serving(gen);
      await sleep(150);
    }
    const overH1 = await h1.stop();
    const overH2 = await h2.stop();
    expect(overH1.failed, JSON.stringify(overH1.causes)).toBe(0);
    expect(overH1.postsVerified).toBeGreaterThan(5);
    expect(overH2.failures).toEqual([]);
    expect(overH2.ok).toBeGreaterThan(50);
    expect(overH2.versions).toEqual(['v1', 'v2', 'v3', 'v4']);
    // HTTP/2 streams are counted on the generation that answered them, like any request.
    const stopped = h.baton.events.filter((e) => e.type === 'stopped');
    expect(stopped.reduce((sum, e) => sum + ((e.served as { requests: number }).requests), 0)).toBeGreaterThan(overH2.ok / 2);
  });

  it('refuses an ambiguous request over TLS from raw bytes (CL.TE) with 400, as over plain TCP', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, [...pathFlags, ...CERT_FLAGS]);
    const port = Number(new URL(await h.baton.url()).port);
    await h.baton.serving(1);
    const answer = await tlsConverse({ host: '127.0.0.1', port }, 'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toContain('/smuggled');
  });
});

describe('HTTP/2 on the public port', () => {
  /** baton with the test certificate in front of the fixture (v1), serving, and an HTTP/2 session to it. */
  async function servingOverH2(): Promise<{ config: string; session: http2.ClientHttp2Session }> {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, CERT_FLAGS);
    const url = (await h.baton.url()).replace('127.0.0.1', 'localhost');
    await h.baton.serving(1);
    return { config, session: http2.connect(url, { ca: CA, servername: 'localhost' }) };
  }

  it('an SSE stream over HTTP/2 open at a switch runs to its end on its generation; new streams go to the new one', async () => {
    const { config, session } = await servingOverH2();
    try {
      const events = h2Body(session, '/sse?count=8&interval=60');
      await sleep(100);
      writeConfig(config, { version: 'v2' });
      await h.baton!.serving(2);
      const fresh = await h2Body(session, '/');
      expect(JSON.parse(fresh).version).toBe('v2');
      const sse = await events;
      expect(sse.match(/^data: v1 \d+$/gm)).toHaveLength(8);
      const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
      expect(stopped.drainTimedOut).toBe(false);
    } finally {
      session.close();
    }
  });

  it('judges HTTP/2 requests by the same rules: userinfo in the authority is 400, an unknown Expect 417, CONNECT 501', async () => {
    const { session } = await servingOverH2();
    const status = (headers: http2.OutgoingHttpHeaders): Promise<number> =>
      new Promise((resolve, reject) => {
        const stream = session.request(headers);
        stream.on('response', (h2) => resolve(Number(h2[':status'])));
        stream.on('error', reject);
        stream.resume();
      });
    try {
      expect(await status({ ':path': '/' })).toBe(200);
      expect(await status({ ':path': '/', ':authority': 'user@localhost' })).toBe(400);
      expect(await status({ ':path': '/', expect: 'something' })).toBe(417);
      expect(await status({ ':method': 'CONNECT', ':authority': 'example.com:443' })).toBe(501);
    } finally {
      session.close();
    }
  });
});

describe('--tls self-signed', () => {
  it('makes a certificate for localhost under .baton/tls/, serves with it, and reuses it on the next start', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, ['--tls', 'self-signed'], { cwd: h.tmp.dir });
    const listening = await h.baton.waitFor((e) => e.type === 'listening');
    const certFile = h.tmp.file('.baton/tls/localhost.pem');
    expect(listening.tls).toEqual({ certificate: certFile, from: 'self-signed' });
    await h.baton.serving(1);
    const cert = readFileSync(certFile);
    const x509 = new X509Certificate(cert);
    expect(x509.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    const url = (listening.url as string).replace('127.0.0.1', 'localhost');
    expect(JSON.parse((await getHttps(url, cert)).body).version).toBe('v1');
    await h.baton.stop('SIGTERM');

    h.baton = startFixture(config, ['--tls', 'self-signed'], { cwd: h.tmp.dir });
    await h.baton.serving(1);
    expect(new X509Certificate(readFileSync(certFile)).fingerprint256).toBe(x509.fingerprint256);
  });
});

describe('bad TLS flags', () => {
  it.each([
    [['--tls-cert', path.join(TLS, 'localhost.pem')], /--tls-cert needs --tls-key too/],
    [['--tls-cert', path.join(TLS, 'localhost.pem'), '--tls-key', path.join(TLS, 'ca.pem')], /are not a certificate and its key/],
    [['--tls', 'sometimes'], /--tls <mode>.*sometimes.*invalid/],
    [['--tls', 'off', ...CERT_FLAGS], /--tls off and --tls-cert\/--tls-key say different things/],
  ])('%j is refused with one line and exit 2', (flags, message) => {
    const run = spawnSync(process.execPath, [CLI, ...flags, '--', 'node', FIXTURE, 'x.json'], { encoding: 'utf8', timeout: 10_000 });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });
});
