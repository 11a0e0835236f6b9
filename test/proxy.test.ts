import http from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BatonProcess, FIXTURE } from './helpers/baton-process.js';
import { sleep, writeConfig, writeText } from './helpers/files.js';
import { getJson, request } from './helpers/http.js';
import { DATA_PATHS, startFixture, useHarness } from './helpers/harness.js';
import { converse, parseResponses } from './helpers/raw-http.js';

const h = useHarness();

async function started(configValue: Record<string, unknown>, extra: string[] = []): Promise<{ url: string; config: string }> {
  const config = h.tmp.file('gateway.json');
  writeConfig(config, configValue);
  h.baton = startFixture(config, extra);
  const url = await h.baton.url();
  return { url, config };
}

describe.each(DATA_PATHS)('proxying, on the %s', (_path, pathFlags) => {
  const start = (configValue: Record<string, unknown>, extra: string[] = []): ReturnType<typeof started> => started(configValue, [...pathFlags, ...extra]);

  it('a gateway that answers before the body is all sent: the rest is dropped and the connection serves the next request', async () => {
    const { url } = await start({ version: 'v1', routes: { '/up': { status: 401, body: 'no' } } });
    await h.baton!.serving(1);
    const length = 256 * 1024;
    const sent = 2000;
    // The head and a little of the body, then (after the 401 is out) the rest, with a second request right behind it.
    const received = await converse(Number(new URL(url).port), [`POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(sent)}`, 'x'.repeat(length - sent) + 'GET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'], { pauseMs: 300, resetIsClose: true });
    const answers = parseResponses(received);
    expect(answers.map((a) => a.status), received.slice(0, 600)).toEqual([401, 200]);
    expect(answers[0]!.headers.connection).toBe('keep-alive');
    expect(JSON.parse(answers[1]!.body).path).toBe('/after');
  });

  it('adds X-Forwarded headers', async () => {
    const { url } = await start({ version: 'v1' });
    await h.baton!.serving(1);
    const body = await getJson(url);
    expect(body.forwardedFor).toBe('127.0.0.1');
  });

  it('holds requests that arrive before the first instance is healthy, then answers them', async () => {
    const { url } = await start({ version: 'slow-start', listenDelayMs: 600 });
    const early = await Promise.all([getJson(url), getJson(`${url}/a`), getJson(`${url}/b`)]);
    expect(early.map((b) => b.version)).toEqual(['slow-start', 'slow-start', 'slow-start']);
    expect(h.baton!.events.find((e) => e.type === 'serving')).toBeDefined();
  });

  it('answers 503 with the reason when nothing becomes healthy within --ready-timeout', async () => {
    const { url } = await start({ version: 'never', neverHealthy: true }, ['--ready-timeout', '400']);
    await h.baton!.waitFor((e) => e.type === 'starting');
    const reply = await request(url);
    expect(reply.status).toBe(503);
    expect(reply.body).toMatch(/^baton: no gateway instance is serving: generation 1 not healthy within 400 ms \(GET \/: GET \/ answered 503\)/);
    const rejected = await h.baton!.waitFor((e) => e.type === 'rejected');
    expect(rejected.serving).toBeUndefined();
  });

  it('a broken first config: baton stays up, answers 503 with the gateway error, serves after the next good save', async () => {
    const config = h.tmp.file('gateway.json');
    writeText(config, '{ broken');
    h.baton = startFixture(config, pathFlags);
    const url = await h.baton.url();
    await h.baton.waitFor((e) => e.type === 'rejected' && e.gen === 1);
    const reply = await request(url);
    expect(reply.status).toBe(503);
    expect(reply.body).toMatch(/exited with code 1 before becoming healthy/);
    expect(reply.body).toMatch(/ERROR parsing the configuration file/);
    writeConfig(config, { version: 'fixed' });
    await h.baton.serving(2);
    expect((await getJson(url)).version).toBe('fixed');
  });

  it('an upstream that drops the connection before answering gives a 502 with a clear body', async () => {
    const { url } = await start({ version: 'v1' });
    await h.baton!.serving(1);
    const get = await request(`${url}/reset`);
    expect(get.status).toBe(502);
    expect(get.body).toBe('baton: gateway generation 1 failed before answering (ECONNRESET)\n');
    const post = await request(`${url}/reset`, { method: 'POST', body: 'payload' });
    expect(post.status).toBe(502);
    expect(post.body).toBe('baton: gateway generation 1 failed before answering (ECONNRESET)\n');
    // The front server keeps serving after upstream failures.
    expect((await getJson(url)).version).toBe('v1');
  });

  it('an upstream that dies after the headers closes the client connection instead of hanging it', async () => {
    const { url } = await start({ version: 'v1' });
    await h.baton!.serving(1);
    const outcome = await new Promise<string>((resolve) => {
      http
        .get(`${url}/die-midway`, { agent: false }, (res) => {
          expect(res.statusCode).toBe(200);
          res.on('data', () => {});
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('error'));
          res.on('close', () => resolve(res.complete ? 'complete' : 'aborted'));
        })
        .on('error', () => resolve('error'));
    });
    expect(['aborted', 'error']).toContain(outcome);
  });

  it('a status code Node cannot write (099) gives a 502, and baton keeps serving', async () => {
    const { url } = await start({ version: 'v1' });
    await h.baton!.serving(1);
    const reply = await request(`${url}/bad-status`);
    expect(reply.status).toBe(502);
    expect(reply.body).toBe('baton: gateway generation 1 sent a response baton cannot pass on (status code 99 below 100)\n');
    expect((await getJson(url)).version).toBe('v1');
  });

  it('retries a reset body-less GET once on a fresh connection, never a POST with a body', async () => {
    const { url } = await start({ version: 'v1' });
    await h.baton!.serving(1);
    expect((await request(`${url}/reset`)).status).toBe(502);
    expect((await request(`${url}/reset`, { method: 'POST', body: 'payload' })).status).toBe(502);
    const hits = await getJson(`${url}/__hits`);
    expect(hits['GET /reset']).toBe(2);
    expect(hits['POST /reset']).toBe(1);
  });

  it('proxies WebSocket upgrades; an open socket keeps its generation through a reload and holds the drain', async () => {
    const { url, config } = await start({ version: 'v1' });
    await h.baton!.serving(1);
    const wsUrl = url.replace('http', 'ws');
    const old = await openSocket(wsUrl);
    expect(await echo(old, 'hello')).toBe('v1:hello');

    writeConfig(config, { version: 'v2' });
    await h.baton!.serving(2);
    const draining = await h.baton!.waitFor((e) => e.type === 'draining' && e.gen === 1);
    expect(draining.inflight).toBe(1);
    // The old session still works, on the old generation; a new one lands on the new generation.
    expect(await echo(old, 'again')).toBe('v1:again');
    const fresh = await openSocket(wsUrl);
    expect(await echo(fresh, 'hi')).toBe('v2:hi');
    await sleep(100);
    expect(h.baton!.events.some((e) => e.type === 'stopped' && e.gen === 1)).toBe(false);

    old.close();
    const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.drainTimedOut).toBe(false);
    fresh.close();
  });

  it('SIGHUP reloads without a file change', async () => {
    await start({ version: 'v1' });
    await h.baton!.serving(1);
    h.baton!.child.kill('SIGHUP');
    const starting = await h.baton!.waitFor((e) => e.type === 'starting' && e.gen === 2);
    expect(starting.reason).toBe('manual');
    await h.baton!.serving(2);
  });

  it('gives the gateway PORT, BATON_PORT and BATON_GENERATION, and fills {port} in the command', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    // The fixture reads --port when given: {port} must be replaced with the same port as $PORT.
    h.baton = BatonProcess.start(['-p', '0', ...pathFlags, '-w', config, '--', 'node', FIXTURE, config, '--port', '{port}']);
    const url = await h.baton.url();
    await h.baton.serving(1);
    const body = await getJson(url);
    expect(body.generation).toBe('1');
    const startingEvent = h.baton.events.find((e) => e.type === 'starting')!;
    expect(body.env).toEqual({ PORT: String(startingEvent.port), BATON_PORT: String(startingEvent.port) });
    expect(h.baton.events.some((e) => e.type === 'output' && e.line === `fixture gateway v1 listening on ${startingEvent.port} (generation 1)`)).toBe(true);
  });
});

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.send(text);
  });
}
