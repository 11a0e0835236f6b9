import http from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BatonProcess, FIXTURE } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { request } from './helpers/http.js';
import { DATA_PATHS, useHarness } from './helpers/harness.js';

const h = useHarness();

async function start(extra: string[] = []): Promise<{ url: string; config: string }> {
  const config = h.tmp.file('gateway.json');
  writeConfig(config, { version: 'v1' });
  h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', ...extra, '-w', config, '--', 'node', FIXTURE, config]);
  const url = await h.baton.url();
  await h.baton.serving(1);
  return { url, config };
}

interface StreamResult {
  events: string[];
  /** 'end' when the stream ended properly, 'aborted' when the connection was cut. */
  ending: 'end' | 'aborted';
}

/** Reads an SSE stream to its end, collecting `data:` lines. */
function readSse(url: string, onFirst?: () => void): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const events: string[] = [];
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          const parts = buffer.split('\n\n');
          buffer = parts.pop()!;
          for (const part of parts) {
            const data = part.split('\n').find((l) => l.startsWith('data: '));
            if (data) events.push(data.slice(6));
            if (events.length === 1) onFirst?.();
          }
        });
        res.on('end', () => resolve({ events, ending: 'end' }));
        res.on('aborted', () => resolve({ events, ending: 'aborted' }));
        res.on('error', () => resolve({ events, ending: 'aborted' }));
      })
      .on('error', reject);
  });
}

describe.each(DATA_PATHS)('long-lived connections across a reload, on the %s', (_path, pathFlags) => {
  const begin = (extra: string[] = []): ReturnType<typeof start> => start([...pathFlags, ...extra]);

  it('an SSE stream open at the switch runs to its natural end on the old generation, nothing lost or repeated', async () => {
    const { url, config } = await begin();
    let first!: () => void;
    const firstSeen = new Promise<void>((resolve) => (first = resolve));
    const stream = readSse(`${url}/sse?count=30&interval=40`, first);
    await firstSeen;
    writeConfig(config, { version: 'v2' });
    await h.baton!.serving(2);
    const draining = await h.baton!.waitFor((e) => e.type === 'draining' && e.gen === 1);
    expect(draining.inflight).toBe(1);

    const result = await stream;
    expect(result.ending).toBe('end');
    expect(result.events).toEqual(Array.from({ length: 30 }, (_, i) => `v1 ${i}`));
    const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.drainTimedOut).toBe(false);
  });

  it('a stream that outlives --drain-timeout is ended cleanly (not cut) and reported', async () => {
    const { url, config } = await begin(['--drain-timeout', '300']);
    let first!: () => void;
    const firstSeen = new Promise<void>((resolve) => (first = resolve));
    const stream = readSse(`${url}/sse?count=100000&interval=20`, first);
    await firstSeen;
    writeConfig(config, { version: 'v2' });
    await h.baton!.serving(2);
    const result = await stream;
    expect(result.ending).toBe('end');
    expect(result.events.length).toBeGreaterThan(1);
    expect(result.events.every((e) => e.startsWith('v1 '))).toBe(true);
    const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.drainTimedOut).toBe(true);
    expect(stopped.cut).toEqual({ streams: 1, requests: 0, websockets: 0 });
    expect(stopped.forced).toBe(false);
  });

  it('a WebSocket session spans a reload without losing or repeating a message; at --drain-timeout it is closed with 1001', async () => {
    const { url, config } = await begin(['--drain-timeout', '800']);
    const ws = new WebSocket(url.replace('http', 'ws'));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const received: string[] = [];
    ws.on('message', (data) => received.push(String(data)));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    let sent = 0;
    const sender = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(String(sent++));
    }, 10);
    await sleep(100);
    writeConfig(config, { version: 'v2' });
    await h.baton!.serving(2);
    await sleep(200);
    clearInterval(sender);
    await sleep(100);
    // Every message sent was echoed once, in order, by the generation the socket opened on.
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => `v1:${i}`));

    expect(await closed).toBe(1001);
    const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.drainTimedOut).toBe(true);
    expect(stopped.cut).toEqual({ streams: 0, requests: 0, websockets: 1 });
  });

  it('a fixed-length response still downloading at --drain-timeout is cut, never ended short as if complete', async () => {
    const { url, config } = await begin(['--drain-timeout', '300']);
    let first!: (res: http.IncomingMessage) => void;
    const firstSeen = new Promise<http.IncomingMessage>((resolve) => (first = resolve));
    const outcome = new Promise<string>((resolve, reject) => {
      http
        .get(`${url}/big?mb=64`, { agent: false }, (res) => {
          // Read one chunk, then stop: the response cannot finish before the drain timeout.
          res.once('data', () => {
            res.pause();
            first(res);
          });
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('aborted'));
          res.on('close', () => resolve(res.complete ? 'complete' : 'aborted'));
        })
        .on('error', reject);
    });
    const res = await firstSeen;
    writeConfig(config, { version: 'v2' });
    await h.baton!.serving(2);
    const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.drainTimedOut).toBe(true);
    expect(stopped.cut).toEqual({ streams: 0, requests: 1, websockets: 0 });
    // Reading again, the client meets the cut (a short body ended cleanly would leave it waiting).
    res.resume();
    expect(await outcome).toBe('aborted');
  });

  it('a request still unanswered at --drain-timeout gets a 504 that names the generation', async () => {
    const { url, config } = await begin(['--drain-timeout', '300']);
    const slow = request(`${url}/slow?ms=5000`);
    await sleep(100);
    writeConfig(config, { version: 'v2' });
    await h.baton!.serving(2);
    const reply = await slow;
    expect(reply.status).toBe(504);
    expect(reply.body).toBe('baton: gateway generation 1 did not answer within --drain-timeout\n');
    const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.cut).toEqual({ streams: 0, requests: 1, websockets: 0 });
  });

  it('a request body still uploading at the switch completes on the generation that accepted it', async () => {
    const { url, config } = await begin();
    const reply = new Promise<{ version: string; body: string }>((resolve, reject) => {
      const req = http.request(`${url}/echo`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ version: String(res.headers['x-version']), body }));
      });
      req.on('error', reject);
      req.write('first half, ');
      void (async () => {
        await sleep(100);
        writeConfig(config, { version: 'v2' });
        await h.baton!.serving(2);
        await sleep(100);
        req.end('second half');
      })();
    });
    expect(await reply).toEqual({ version: 'v1', body: 'first half, second half' });
    const stopped = await h.baton!.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.drainTimedOut).toBe(false);
  });
});
