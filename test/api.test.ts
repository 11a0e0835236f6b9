import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatonProcess, CLI, FIXTURE, ROOT } from './helpers/baton-process.js';
import { writeConfig } from './helpers/files.js';
import { DATA_PATHS, useHarness } from './helpers/harness.js';
import { getJson, request } from './helpers/http.js';
import { converse } from './helpers/raw-http.js';

// The control plane (docs/api.md): numbers that match the traffic a test sent and
// counted, per generation, on both data paths; the event stream and its replay; HAR; a
// replay to the serving generation; a token off loopback; the CLI client.

const h = useHarness();

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function api(admin: string, path: string, options: { method?: string; token?: string } = {}): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const reply = await request(`${admin.replace(/\/\?token=.*$/, '')}${path}`, { method: options.method ?? 'GET', headers });
  return { status: reply.status, body: JSON.parse(reply.body) as Json };
}

async function start(extra: readonly string[] = []): Promise<{ url: string; admin: string; config: string }> {
  const config = h.tmp.file('gateway.json');
  writeConfig(config, { version: 'v1' });
  h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', ...extra, '-w', config, '--', 'node', FIXTURE, config], { cwd: h.tmp.dir });
  const listening = await h.baton.waitFor((e) => e.type === 'listening');
  await h.baton.serving(1);
  return { url: listening.url as string, admin: listening.admin as string, config };
}

/** Reads a Server-Sent Events stream until `count` events arrived. */
function readEvents(url: string, headers: Record<string, string>, count: number): Promise<Array<{ id: number; data: Json }>> {
  return new Promise((resolve, reject) => {
    const got: Array<{ id: number; data: Json }> = [];
    const req = http.get(url, { headers }, (res) => {
      let partial = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const blocks = (partial + chunk).split('\n\n');
        partial = blocks.pop()!;
        for (const block of blocks) {
          const id = /^id: (\d+)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id && data) got.push({ id: Number(id), data: JSON.parse(data) as Json });
        }
        if (got.length >= count) {
          req.destroy();
          resolve(got);
        }
      });
    });
    req.on('error', (err) => (got.length >= count ? undefined : reject(err)));
  });
}

describe.each(DATA_PATHS)('the control plane, on the %s', (_name, pathFlags) => {
  it('counts exactly the requests each generation was given, by status class, and what the stopped event says', async () => {
    const { url, admin, config } = await start(pathFlags);
    for (let i = 0; i < 7; i++) await request(`${url}/`);
    for (let i = 0; i < 3; i++) await request(`${url}/echo`, { method: 'POST', body: 'hello' });
    await request(`${url}/nope-404`);
    expect((await request(`${url}/bad-status`)).status).toBe(502);
    const first = (await api(admin, '/api/status')).body;
    expect(first.serving).toBe(1);
    const gen1 = first.generations.find((g: Json) => g.gen === 1);
    // 7 GETs, 3 POSTs and a GET / from the fixture's catch-all for /nope-404 (200), and baton's own 502.
    expect(gen1).toMatchObject({ gen: 1, state: 'serving', requests: 12, statuses: { '2xx': 11, '5xx': 1 }, own: { '502': 1 }, bytesIn: 15 });
    expect(gen1.p50Ms).toBeGreaterThan(0);
    expect(gen1.p99Ms).toBeGreaterThanOrEqual(gen1.p50Ms);

    writeConfig(config, { version: 'v2' });
    await h.baton!.serving(2);
    for (let i = 0; i < 4; i++) await request(`${url}/`);
    const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.served).toMatchObject({ requests: 12, statuses: { '2xx': 11, '5xx': 1 }, own: { '502': 1 } });
    const second = (await api(admin, '/api/status')).body;
    expect(second.generations.map((g: Json) => [g.gen, g.state, g.requests])).toEqual([
      [1, 'stopped', 12],
      [2, 'serving', 4],
    ]);
    // Health probes never pass the front, so never count.
    expect(second.unrouted.requests).toBe(0);
  });

  it('keeps requests newest first with heads and bodies, filters them, and cuts a long body at --record-body', async () => {
    const { url, admin } = await start([...pathFlags, '--record-body', '1']);
    await request(`${url}/first`);
    await request(`${url}/echo`, { method: 'POST', body: 'x'.repeat(3000), headers: { 'x-test': 'kept' } });
    await request(`${url}/bad-status`);
    const all = (await api(admin, '/api/requests')).body as Json[];
    expect(all.map((r) => r.target)).toEqual(['/bad-status', '/echo', '/first']);
    expect((await api(admin, '/api/requests?status=5xx')).body.map((r: Json) => r.target)).toEqual(['/bad-status']);
    expect((await api(admin, '/api/requests?path=ech&gen=1')).body.map((r: Json) => r.target)).toEqual(['/echo']);
    expect((await api(admin, '/api/requests?limit=1')).body).toHaveLength(1);
    const post = (await api(admin, `/api/requests/${all[1]!.id}`)).body;
    expect(post.request.line).toBe('POST /echo HTTP/1.1');
    expect(post.request.headers).toContainEqual(['x-test', 'kept']);
    expect(post.request.body).toMatchObject({ size: 1024, truncated: true });
    expect(post.response.line).toMatch(/^HTTP\/1\.1 200/);
    expect(post.response.body).toMatchObject({ size: 1024, truncated: true, text: 'x'.repeat(1024) });
    expect((await api(admin, '/api/requests/999999')).status).toBe(404);
  });

  // The fast path reads upstream sockets into a reused buffer; the inspector keeps slices
  // of a body until its exchange ends, so those reads must not be overwritten meanwhile.
  it('keeps the start of an answer that came in many reads byte for byte', async () => {
    const { url, admin } = await start([...pathFlags, '--record-body', '16']);
    const reply = await request(`${url}/pattern?kib=256&piece=1024`);
    expect(reply.body.length).toBeGreaterThan(0);
    const [kept] = (await api(admin, '/api/requests?path=pattern')).body as Json[];
    const body = (await api(admin, `/api/requests/${kept!.id}`)).body.response.body as Json;
    expect(body).toMatchObject({ size: 16 * 1024, truncated: true });
    const bytes = Buffer.from(body.base64 as string, 'base64');
    const wrong = bytes.findIndex((b, i) => b !== ((i * 7 + (i >> 12)) & 255));
    expect(wrong).toBe(-1);
  });

  it('counts a refusal at the edge as unrouted, and keeps it in the inspector with no generation', async () => {
    const { url, admin } = await start(pathFlags);
    const port = Number(new URL(url).port);
    const answer = await converse(port, ['POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const status = (await api(admin, '/api/status')).body;
    expect(status.unrouted).toMatchObject({ requests: 1, statuses: { '4xx': 1 } });
    expect(status.generations.find((g: Json) => g.gen === 1).requests).toBe(0);
    const [kept] = (await api(admin, '/api/requests')).body as Json[];
    expect(kept).toMatchObject({ gen: null, status: 400, method: 'POST', target: '/smuggle', own: true });
  });
});

describe('the control plane', () => {
  it('the status names the side ports, the public HTTPS certificate and the upstream TLS, as the listening event did', async () => {
    const plainStatus = (await api((await start()).admin, '/api/status')).body;
    expect(plainStatus).toMatchObject({ sidePorts: [], tls: null, preview: null, upstreamTls: false });
    await h.baton!.stop();

    const cert = path.join(ROOT, 'test/fixtures/tls/localhost.pem');
    const key = path.join(ROOT, 'test/fixtures/tls/localhost.key');
    const config = h.tmp.file('gateway-side.json');
    writeConfig(config, { version: 'v1', metrics: { portEnv: 'BATON_PORT_METRICS' } });
    h.baton = BatonProcess.start(['-p', '0', '--side-port', '0:metrics', '--tls-cert', cert, '--tls-key', key, '-w', config, '--', 'node', FIXTURE, config], { cwd: h.tmp.dir });
    const listening = await h.baton.waitFor((e) => e.type === 'listening');
    await h.baton.serving(1);
    const status = (await api(listening.admin as string, '/api/status')).body;
    expect(status.sidePorts).toEqual(listening.sidePorts);
    expect(status.sidePorts).toEqual([{ name: 'metrics', port: expect.any(Number), url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) }]);
    expect(status.tls).toEqual({ certificate: cert, from: 'flags' });
    expect(status.url).toMatch(/^https:/);
    expect(status.upstreamTls).toBe(false);
  });

  it('streams every event with ids, replays from Last-Event-ID, and gives the history as JSON', async () => {
    const { admin } = await start();
    const history = (await api(admin, '/api/events?history=1')).body as Json[];
    expect(history.map((e) => e.type).slice(0, 2)).toEqual(['listening', 'starting']);
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
    const replayed = await readEvents(`${admin}/api/events`, { 'last-event-id': '1' }, history.length - 1);
    expect(replayed.map((e) => e.id)).toEqual(history.slice(1).map((e) => e.id));
    expect(replayed[0]!.data.type).toBe(history[1]!.type);
  });

  it('writes HAR 1.2, replays a request to the serving generation, reloads, and gives each generation its diff', async () => {
    const { url, admin, config } = await start();
    await request(`${url}/replay-me`);
    const har = (await api(admin, '/api/requests.har')).body;
    expect(har.log.version).toBe('1.2');
    expect(har.log.creator.name).toBe('baton');
    const entry = har.log.entries[0];
    expect(entry).toMatchObject({ request: { method: 'GET', httpVersion: 'HTTP/1.1' }, response: { status: 200 }, cache: {} });
    expect(entry.request.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/replay-me$/);
    expect(entry.request.headers).toContainEqual({ name: 'Host', value: new URL(url).host });
    expect(typeof entry.startedDateTime).toBe('string');
    expect(entry.timings.wait).toBeGreaterThanOrEqual(0);

    const id = (await api(admin, '/api/requests')).body[0].id as number;
    writeConfig(config, { version: 'v2', extra: 1 });
    await h.baton!.serving(2);
    const replayed = await api(admin, `/api/requests/${id}/replay`, { method: 'POST' });
    expect(replayed.status).toBe(200);
    expect(replayed.body).toMatchObject({ gen: 2, replayOf: id, status: 200 });
    expect(JSON.parse(replayed.body.response.body.text as string)).toMatchObject({ version: 'v2', path: '/replay-me' });

    const diff = (await api(admin, '/api/generations/2/diff')).body;
    expect(diff.changes).toEqual([{ file: 'gateway.json', added: 2, removed: 1, status: 'changed' }]);
    expect(diff.diff).toContain('+  "version": "v2"');
    const starting = h.baton!.events.find((e) => e.type === 'starting' && e.gen === 2);
    expect(starting?.changes).toEqual(diff.changes);

    expect((await api(admin, '/api/reload', { method: 'POST' })).status).toBe(202);
    await h.baton!.serving(3);
    expect((await api(admin, '/api/reload')).status).toBe(405);
    expect((await api(admin, '/api/nope')).status).toBe(404);
  });

  it('refuses a page of another origin, and requires a token when bound beyond loopback', async () => {
    const { admin } = await start(['--admin', '0.0.0.0:0']);
    const token = /\?token=(.+)$/.exec(admin)?.[1];
    expect(token).toBeTruthy();
    const base = admin.replace('0.0.0.0', '127.0.0.1');
    expect((await api(base, '/api/status')).status).toBe(401);
    expect((await api(base, '/api/status', { token: 'wrong' })).status).toBe(401);
    expect((await api(base, '/api/status', { token })).status).toBe(200);
    const cross = await request(`${base.replace(/\/\?token=.*$/, '')}/api/reload`, { method: 'POST', headers: { origin: 'http://evil.example', authorization: `Bearer ${token}` } });
    expect(cross.status).toBe(403);
  });

  it('on loopback, refuses a Host that is not a loopback name (DNS rebinding)', async () => {
    const { admin } = await start();
    const port = Number(new URL(admin).port);
    const rebound = await converse(port, ['GET /api/status HTTP/1.1\r\nHost: attacker.example:' + port + '\r\nConnection: close\r\n\r\n']);
    expect(rebound).toMatch(/^HTTP\/1\.1 403 /);
    const local = await converse(port, ['GET /api/status HTTP/1.1\r\nHost: localhost:' + port + '\r\nConnection: close\r\n\r\n']);
    expect(local).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('the CLI client finds the baton running from its folder: status, requests and reload', async () => {
    const { url } = await start();
    await request(`${url}/seen`);
    const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
      const run = spawnSync(process.execPath, [CLI, ...args], { cwd: h.tmp.dir, encoding: 'utf8', timeout: 20_000 });
      return { status: run.status, stdout: run.stdout, stderr: run.stderr };
    };
    const status = cli(['status', '--json']);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ serving: 1, url });
    expect(cli(['status']).stdout).toMatch(/^baton at http:\/\/127\.0\.0\.1:\d+: gen 1 serving\n/);
    const requests = cli(['requests', '--json', '--limit', '1']);
    expect(JSON.parse(requests.stdout.trim())).toMatchObject({ target: '/seen', gen: 1 });
    expect(cli(['reload']).stdout).toBe('reload requested\n');
    await h.baton!.serving(2);
    expect((await getJson(url)).generation).toBe('2');
    // No baton in another folder: one line saying so, exit 2.
    const elsewhere = spawnSync(process.execPath, [CLI, 'status'], { cwd: '/', encoding: 'utf8' });
    expect(elsewhere.status).toBe(2);
    expect(elsewhere.stderr).toMatch(/^baton: no baton is running from \/ — start one here, or give --admin <url>/);
  });

  it('keeps the inspector within --record MiB', async () => {
    const { url, admin } = await start(['--record', '1']);
    const body = 'y'.repeat(16 * 1024);
    for (let i = 0; i < 80; i++) await request(`${url}/echo`, { method: 'POST', body });
    const { inspector } = (await api(admin, '/api/status')).body;
    expect(inspector.capBytes).toBe(1024 * 1024);
    expect(inspector.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(inspector.kept).toBeLessThan(80);
    expect(inspector.kept).toBeGreaterThan(10);
  });
});
