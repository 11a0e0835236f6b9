import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatonProcess, ROOT } from './helpers/baton-process.js';
import { sleep, tempDir } from './helpers/files.js';
import { DATA_PATHS } from './helpers/harness.js';
import { request } from './helpers/http.js';
import { converse, parseResponses } from './helpers/raw-http.js';
import { PAYLOADS, type Payload } from './edge/payloads.js';
// The oracle: a strict reader written for the tests alone (no code shared with baton).
import { parseRequests, type StrictRequest } from './fixtures/strict-http.mjs';

// baton's strict edge. Every payload of edge/payloads.ts goes to baton on one raw
// connection, on both data paths, in front of a gateway that frames strictly and records
// exactly what it received. Each case asserts that the client got exactly the statuses it
// should, in order; that every gateway answer it got belongs to the request the gateway
// saw, in order; that the gateway saw no request the client got no answer for, and never
// one it had to refuse; and that each request it saw means what the client's bytes mean
// (read by the oracle), with baton's documented changes only.

const RECORDER = path.join(ROOT, 'test/fixtures/recording-gateway.mjs');

interface Seen {
  seq?: number;
  reject?: string;
  method: string;
  target: string;
  host: string | undefined;
  path: string;
  fields: Array<[string, string]>;
  body: string;
  trailers: Array<[string, string]>;
}

type OracleRequest = StrictRequest;

/** What baton removes from every request: connection-level fields (RFC 9110 §7.6.1). */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'upgrade', 'http2-settings']);
const PROTECTED = new Set(['host', 'content-length', 'transfer-encoding']);
const NOT_TRAILERS = new Set([...HOP, 'content-length', 'transfer-encoding', 'host', 'trailer']);

/** Field values by lower-case name, each name's lines in order: what RFC 9110 §5.3 says a field means. */
function byName(fields: ReadonlyArray<readonly [string, string]>, drop: (name: string) => boolean): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of fields) {
    const key = name.toLowerCase();
    if (!drop(key)) (out[key] ??= []).push(value);
  }
  return out;
}

function values(fields: ReadonlyArray<readonly [string, string]>, name: string): string[] {
  return fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

/** Asserts that what the gateway saw through baton means what the client's bytes meant. */
function expectSameMeaning(seen: Seen, sent: OracleRequest, publicAuthority: string, label: string): void {
  expect(seen.method, label).toBe(sent.method);
  expect(seen.target, `${label}: the target goes upstream in origin-form`).toBe(sent.path);
  const host = sent.host ?? publicAuthority;
  expect(seen.host, `${label}: Host`).toBe(host);
  const listed = new Set(values(sent.fields, 'connection').flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter((t) => t && !PROTECTED.has(t)));
  const forwarded = (name: string): boolean => name.startsWith('x-forwarded-');
  const keptUpgrade = (name: string): boolean => sent.upgrade && name === 'upgrade';
  // baton-generation is baton's own field (it pins the request to a generation): never forwarded.
  const expected = byName(sent.fields, (n) => !keptUpgrade(n) && (n === 'host' || forwarded(n) || listed.has(n) || HOP.has(n) || n === 'baton-generation'));
  // Repeated Cookie lines reach the gateway as one, joined by "; " (RFC 6265 §5.4).
  if (expected.cookie) expected.cookie = [expected.cookie.join('; ')];
  const got = byName(seen.fields, (n) => n === 'host' || forwarded(n) || n === 'connection');
  expect(got, `${label}: the fields`).toEqual(expected);
  const xff = listed.has('x-forwarded-for') ? [] : values(sent.fields, 'x-forwarded-for');
  expect(values(seen.fields, 'x-forwarded-for'), `${label}: X-Forwarded-For`).toEqual([[...(xff.length ? [xff.join(', ')] : []), '127.0.0.1'].join(',')]);
  const xfh = listed.has('x-forwarded-host') ? [] : values(sent.fields, 'x-forwarded-host');
  expect(values(seen.fields, 'x-forwarded-host'), `${label}: X-Forwarded-Host`).toEqual([xfh.join(', ') || host]);
  expect(seen.body, `${label}: the body`).toBe(sent.body);
  expect(byName(seen.trailers, () => false), `${label}: the trailer fields`).toEqual(byName(sent.trailers, (n) => NOT_TRAILERS.has(n)));
}

/** Writes the payload's parts on one connection, each its own read, and returns every byte received until the server closes. */
function talk(port: number, payload: Payload): Promise<string> {
  return converse(port, typeof payload.send === 'string' ? [payload.send] : payload.send, { pauseMs: 30, halfClose: payload.halfClose ?? false, resetIsClose: true });
}

describe.each(DATA_PATHS)('the strict edge, on the %s', (pathName, pathFlags) => {
  let tmp: ReturnType<typeof tempDir>;
  let log: string;
  let baton: BatonProcess;
  let port: number;
  let publicAuthority: string;

  beforeAll(async () => {
    tmp = tempDir();
    log = tmp.file('requests.log');
    const config = tmp.file('recorder.json');
    writeFileSync(config, JSON.stringify({ log }));
    writeFileSync(log, '');
    baton = BatonProcess.start(['-p', '0', ...pathFlags, '--health', '/__health', '-w', config, '--', 'node', RECORDER, config]);
    const url = await baton.url();
    port = Number(new URL(url).port);
    publicAuthority = `127.0.0.1:${port}`;
    await baton.serving(1);
  });
  afterAll(async () => {
    await baton.kill();
    tmp.remove();
  });

  const read = (): Seen[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Seen);

  /** Waits until the gateway has seen a request sent after the payload, so nothing of the payload is still on its way. */
  async function settle(): Promise<void> {
    const marker = `/__settle/${Math.random().toString(36).slice(2)}`;
    const reply = await request(`http://127.0.0.1:${port}${marker}`);
    expect(reply.status).toBe(200);
    await sleep(30);
  }

  it.each(PAYLOADS.map((p) => [p.name, p] as const))('%s', async (_name, payload) => {
    // Nothing of the case before arrived late.
    expect(read().filter((r) => !r.path?.startsWith('/__settle/')), 'late arrivals from the case before').toEqual([]);
    writeFileSync(log, '');
    try {
      await runCase(payload);
    } finally {
      writeFileSync(log, ''); // a failed case must not show up as the next one's late arrivals
    }
  });

  async function runCase(payload: Payload): Promise<void> {
    const received = await talk(port, payload);
    await settle();
    const records = read().filter((r) => !r.path?.startsWith('/__settle/'));
    const expected = pathName === 'node:http path' && payload.nodePath ? payload.nodePath.expect : payload.expect;
    const heads = (typeof payload.send === 'string' ? payload.send : payload.send.join('')).startsWith('HEAD') ? [0] : [];
    const answers = parseResponses(received, heads);

    // The client got exactly these answers, in order.
    expect(answers.map((a) => a.status), `answers:\n${received.slice(0, 1500)}`).toEqual(expected);
    // The gateway never had to refuse what baton sent it.
    expect(records.filter((r) => r.reject), 'the gateway refused something baton forwarded').toEqual([]);
    // Every gateway answer belongs to the request the gateway saw, in order, and it saw nothing more.
    const fromGateway = answers.filter((a) => a.status === 101 || a.headers['x-seq'] !== undefined);
    expect(records.length, 'requests the gateway ran').toBe(fromGateway.length);
    fromGateway.forEach((a, i) => {
      if (a.status !== 101) expect(Number(a.headers['x-seq'])).toBe(records[i]!.seq);
    });
    // baton's own answers are the last thing on the connection.
    const own = answers.findIndex((a) => a.status >= 400);
    if (own !== -1) expect(own, 'baton answered itself before a gateway answer').toBe(answers.length - 1);

    // Each request the gateway saw means what the client's bytes meant.
    const sent = typeof payload.send === 'string' ? payload.send : payload.send.join('');
    const bytes = Buffer.from(pathName === 'node:http path' && payload.nodePath ? payload.nodePath.readAs : sent, 'latin1');
    const oracle = parseRequests(bytes);
    expect(records.length).toBeLessThanOrEqual(oracle.requests.length);
    records.forEach((seen, i) => expectSameMeaning(seen, oracle.requests[i]!, publicAuthority, `request ${i + 1}`));
  }

  it('the gateway saw nothing late: no request of any payload arrived after its case ended', async () => {
    await settle();
    expect(read().filter((r) => !r.path?.startsWith('/__settle/'))).toEqual([]);
  });
});
