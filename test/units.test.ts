import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../src/cli/args.js';
import { checkProgram, fillPort } from '../src/lifecycle/command.js';
import { BatonError } from '../src/errors.js';
import type { BatonEvent } from '../src/events.js';
import { looksLikePortClash, portClash } from '../src/lifecycle/gateway-process.js';
import { StormDetector } from '../src/watch/storm.js';
import { RequestRing } from '../src/observe/request-ring.js';
import { LogHistogram, difference, percentileOf } from '../src/observe/log-histogram.js';
import { ConfigHistory } from '../src/observe/config-history.js';
import { tempDir, writeConfig, writeText } from './helpers/files.js';
import { globToRegExp, ignoreRules } from '../src/watch/ignore-rules.js';
import { findConfigFile, resolveOptions } from '../src/options.js';
import { LineTail, MAX_LINE, onLines } from '../src/lifecycle/output-lines.js';
import { createReporter, formatEvent } from '../src/cli/reporter.js';

describe('findConfigFile', () => {
  it.each([
    [['krakend', 'run', '-c', 'krakend.json'], 'krakend.json'],
    [['caddy', 'run', '--config', 'Caddyfile'], 'Caddyfile'],
    [['krakend', 'run', '--config=conf/k.json'], 'conf/k.json'],
    [['tool', '-c=x.yaml'], 'x.yaml'],
    [['node', 'server.js'], undefined],
    [['gw', '-c'], undefined],
    [['sh', '-c', 'exec gw'], undefined],
    [['/bin/bash', '-c', 'gw --config x'], undefined],
  ])('%j → %s', (command, expected) => {
    expect(findConfigFile(command)).toBe(expected);
  });

  it('defaults --watch to that file, else the working folder', () => {
    expect(resolveOptions({ command: ['krakend', 'run', '-c', 'k.json'], cwd: '/srv' }).watch).toEqual(['/srv/k.json']);
    expect(resolveOptions({ command: ['node', 'server.js'], cwd: '/srv' }).watch).toEqual(['/srv']);
  });
});

describe('command helpers', () => {
  it('fills {port} everywhere it appears', () => {
    expect(fillPort(['gw', '-p', '{port}', '--addr=:{port}'], 4321)).toEqual(['gw', '-p', '4321', '--addr=:4321']);
  });
  it('finds the program a --check command runs', () => {
    expect(checkProgram('krakend check -c k.json')).toBe('krakend');
    expect(checkProgram('"./my check" --x')).toBe('./my check');
    expect(checkProgram('test -f x')).toBeUndefined();
    expect(checkProgram('FOO=1 lint')).toBeUndefined();
  });
  it('recognises a clash on the instance port, not on another port the gateway opens', () => {
    expect(looksLikePortClash(['listen tcp :8080: bind: address already in use'], 8080)).toBe(true);
    expect(looksLikePortClash(['Error: listen EADDRINUSE: address already in use 127.0.0.1:4000'], 4000)).toBe(true);
    expect(looksLikePortClash(['listen tcp 127.0.0.1:2019: bind: address already in use'], 4000)).toBe(false);
    expect(looksLikePortClash(['listen tcp :40001: bind: address already in use'], 4000)).toBe(false);
    expect(looksLikePortClash(["  code: 'EADDRINUSE',", '  errno: -98,', "  address: '127.0.0.1',", '  port: 4000'], 4000)).toBe(true);
    expect(looksLikePortClash(['ERROR parsing the configuration file'], 4000)).toBe(false);
  });
});

describe('port clashes', () => {
  it('decides by the port on the clash line, not a port printed near it', () => {
    const lines = ['serving on :4000', 'listen tcp :9090: bind: address already in use'];
    expect(portClash(lines, 4000)).toEqual({ line: 'listen tcp :9090: bind: address already in use', port: 9090, own: false });
    expect(portClash(['2026/12/01 12:34:56 listen tcp :9090: bind: address already in use'], 9090)?.own).toBe(true);
    expect(portClash(['2026/12/01 12:34:56 listen tcp :9090: bind: address already in use'], 4000)?.port).toBe(9090);
    expect(portClash(['all good'], 4000)).toBeUndefined();
  });
});

describe('storm detector', () => {
  it('counts changes that land while a reload settles, five within ten seconds, each file once', () => {
    const storms = new StormDetector([]);
    for (let i = 0; i < 4; i++) expect(storms.changed(['/a'], i * 1000, true)).toEqual([]);
    expect(storms.changed(['/a'], 4000, false)).toEqual([]); // a save after the gateway settled does not count
    expect(storms.changed(['/a', '/b'], 4500, true)).toEqual(['/a']);
    expect(storms.changed(['/a'], 4600, true)).toEqual([]); // reported once
  });

  it('a change just after a promotion counts; a file named with --watch only while nothing is promoted', () => {
    const storms = new StormDetector(['/root']);
    storms.promoted(1000);
    expect(storms.changed(['/a'], 1100, false)).toEqual([]);
    for (const at of [1200, 1300, 1400]) storms.changed(['/a', '/root'], at, true);
    expect(storms.changed(['/a', '/root'], 1500, true)).toEqual(['/a']); // /a: five in the settling windows
    storms.promoted(1600);
    // /root reaches five at 2000, but a promotion (1600) came after its first: its saves are being served.
    for (const at of [2000, 2100, 2200, 2300]) expect(storms.changed(['/root'], at, true)).toEqual([]);
    expect(storms.changed(['/root'], 2400, true)).toEqual(['/root']); // five with nothing promoted since the first
  });

  it('forgets changes older than ten seconds', () => {
    const storms = new StormDetector([]);
    for (const at of [0, 3000, 6000, 9000, 10_500]) expect(storms.changed(['/a'], at, true)).toEqual([]);
    expect(storms.changed(['/a'], 11_000, true)).toEqual(['/a']);
  });
});

describe('ignore rules', () => {
  const ignored = ignoreRules(['*.log', 'build/**', 'out.json'], '/p', ['/p']);
  it.each([
    ['/p/.git/HEAD', true],
    ['/p/node_modules/x/index.js', true],
    ['/p/.krakend.json.swp', true],
    ['/p/krakend.json~', true],
    ['/p/4913', true],
    ['/p/.#krakend.json', true],
    ['/p/krakend.json___jb_tmp___', true],
    ['/p/x.tmp', true],
    ['/p/debug.log', true],
    ['/p/sub/debug.log', true],
    ['/p/build/a/b.json', true],
    ['/p/sub/out.json', true],
    ['/p/krakend.json', false],
    ['/p/settings/dev.json', false],
    ['/p', false],
  ])('%s → %s', (file, expected) => {
    expect(ignored(file)).toBe(expected);
  });
  it('turns globs into anchored expressions', () => {
    expect(globToRegExp('a/**/b.json').test('a/x/y/b.json')).toBe(true);
    expect(globToRegExp('a/**/b.json').test('a/b.json')).toBe(true);
    expect(globToRegExp('*.json').test('dir/a.json')).toBe(false);
    expect(globToRegExp('v?.json').test('v1.json')).toBe(true);
  });
});

describe('output lines', () => {
  it('splits chunks into lines, flushes the last one, strips CR', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    onLines(stream, (l) => lines.push(l));
    stream.write('one\r\ntw');
    stream.write('o\nthree');
    stream.end();
    await new Promise((r) => stream.on('end', r));
    expect(lines).toEqual(['one', 'two', 'three']);
  });
  it('caps a runaway line instead of buffering it whole', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    onLines(stream, (l) => lines.push(l));
    for (let i = 0; i < 100; i++) stream.write('x'.repeat(10_000));
    stream.write('\nnext\n');
    stream.end();
    await new Promise((r) => stream.on('end', r));
    expect(lines).toEqual(['x'.repeat(MAX_LINE), 'next']);
  });
  it('keeps only the last lines', () => {
    const tail = new LineTail(2);
    for (const l of ['a', 'b', 'c']) tail.push(l);
    expect(tail.lines()).toEqual(['b', 'c']);
  });
});

describe('CLI arguments', () => {
  it('parses the full contract', () => {
    const request = parseCliArgs(
      ['-p', '9000', '--host', '0.0.0.0', '-w', 'a', '-w', 'b', '--ignore', '*.log', '--health', '/__health', '--check', 'gw check', '--ready-timeout', '1', '--drain-timeout', '2', '--stop-timeout', '3', '--debounce', '4', '--poll', '--json', '-q', '--', 'gw', 'run', '-p', '{port}'],
      '1.0.0',
    );
    expect(request).toEqual({
      kind: 'run',
      args: {
        admin: {},
        color: false,
        gatewayOutput: 'all',
        json: true,
        quiet: true,
        options: {
          command: ['gw', 'run', '-p', '{port}'],
          port: 9000,
          host: '0.0.0.0',
          watch: ['a', 'b'],
          ignore: ['*.log'],
          health: '/__health',
          check: 'gw check',
          readyTimeout: 1,
          drainTimeout: 2,
          stopTimeout: 3,
          debounce: 4,
          poll: true,
        },
        // What the command line set: an edit of the config file cannot change these.
        flagKeys: ['port', 'host', 'health', 'readyTimeout', 'drainTimeout', 'stopTimeout', 'debounce', 'watch', 'ignore', 'check', 'poll', 'json', 'quiet', 'command'],
      },
    });
  });
  it('leaves flags after -- to the gateway', () => {
    const request = parseCliArgs(['--', 'gw', '--port', 'x', '--json'], '1.0.0');
    expect(request.kind === 'run' && request.args.options.command).toEqual(['gw', '--port', 'x', '--json']);
    expect(request.kind === 'run' && request.args.json).toBe(false);
  });
  it('reports usage errors as BatonError with exit code 2', () => {
    try {
      parseCliArgs(['--nope', '--', 'gw'], '1.0.0');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BatonError);
      expect((err as BatonError).code).toBe('E_USAGE');
      expect((err as BatonError).exitCode).toBe(2);
    }
  });
});

describe('reporter in a terminal', () => {
  const capture = (options: Partial<Parameters<typeof createReporter>[0]>): { lines: () => string; report: (e: BatonEvent) => void } => {
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (c) => (text += c));
    err.on('data', (c) => (text += c));
    return { lines: () => text, report: createReporter({ json: false, quiet: false, cwd: '/', out, err, ...options }) };
  };
  it('colours what failed, dims the gateway, and leaves JSON and NO_COLOR-style runs plain', () => {
    const colored = capture({ color: true });
    colored.report({ type: 'rejected', gen: 3, reason: 'exited with code 1', output: ['ERROR x'], serving: 2 });
    colored.report({ type: 'output', gen: 2, stream: 'stdout', line: 'hello' });
    expect(colored.lines()).toContain('\x1b[31m');
    expect(colored.lines()).toContain('\x1b[2m[gen 2] hello');
    const plain = capture({ color: false });
    plain.report({ type: 'rejected', gen: 3, reason: 'exited with code 1', output: [], serving: 2 });
    expect(plain.lines()).not.toContain('\x1b[');
    const json = capture({ color: true, json: true });
    json.report({ type: 'serving', gen: 1, ms: 5 });
    expect(json.lines()).not.toContain('\x1b[');
  });
  it('--gateway-output errors keeps stderr and lines that say error; none keeps nothing of the gateway', () => {
    const errors = capture({ gatewayOutput: 'errors' });
    errors.report({ type: 'output', gen: 1, stream: 'stdout', line: 'listening on 4000' });
    errors.report({ type: 'output', gen: 1, stream: 'stdout', line: 'ERROR parsing the config' });
    errors.report({ type: 'output', gen: 1, stream: 'stderr', line: 'something on stderr' });
    expect(errors.lines()).toBe('[gen 1] ERROR parsing the config\n[gen 1] something on stderr\n');
    const none = capture({ gatewayOutput: 'none' });
    none.report({ type: 'output', gen: 1, stream: 'stderr', line: 'anything' });
    none.report({ type: 'serving', gen: 1, ms: 5 });
    expect(none.lines()).toBe('baton  gen 1 healthy in 5 ms — serving\n');
  });
});

describe('reporter', () => {
  it('names what a second signal killed', () => {
    expect(formatEvent({ type: 'killed', processes: [{ gen: 2, pid: 41 }, { gen: 3, pid: 57 }] }, '/')).toBe('baton  stopped at once: killed gen 2 (pid 41) and gen 3 (pid 57) with their process groups');
    expect(formatEvent({ type: 'killed', processes: [{ gen: 1, pid: 9 }] }, '/')).toBe('baton  stopped at once: killed gen 1 (pid 9) with its process group');
    expect(formatEvent({ type: 'killed', processes: [] }, '/')).toBe('baton  stopped at once: no gateway was running');
  });

  const all: BatonEvent[] = [
    { type: 'listening', url: 'http://127.0.0.1:8080', port: 8080, command: ['gw'], watch: ['/p/k.json'] },
    { type: 'preset', name: 'krakend', applied: ['health: /__health'] },
    { type: 'change', files: ['/p/k.json'], early: true },
    { type: 'reload', source: 'signal' },
    { type: 'starting', gen: 2, port: 4000, pid: 1, reason: 'change' },
    { type: 'output', gen: 2, stream: 'stdout', line: 'hello' },
    { type: 'port-clash', gen: 2, port: 4000 },
    { type: 'serving', gen: 2, ms: 12 },
    { type: 'rejected', gen: 3, reason: 'exited with code 1 before becoming healthy', output: ['ERROR parsing'], serving: 2 },
    { type: 'abandoned', gen: 4 },
    { type: 'draining', gen: 1, inflight: 3 },
    { type: 'stopped', gen: 1, ms: 40, forced: true, drainTimedOut: true, cut: { streams: 2, requests: 0, websockets: 1 }, served: { requests: 12345, statuses: { '1xx': 0, '2xx': 12300, '3xx': 0, '4xx': 45, '5xx': 0 }, own: {}, p50Ms: 0.8, p99Ms: 4.1, bytesIn: 0, bytesOut: 0 } },
    { type: 'crashed', gen: 2, reason: 'exited with code 2', output: [], restartInMs: 100 },
    { type: 'shutdown', signal: 'SIGINT' },
    { type: 'closed' },
    { type: 'warning', message: 'watcher: EMFILE' },
  ];
  it('has a line for every event type, naming the generation where there is one', () => {
    for (const event of all) {
      const line = formatEvent(event, '/p');
      expect(line, event.type).toBeTruthy();
      if ('gen' in event) expect(line).toContain(`gen ${event.gen}`);
    }
  });
  it('says what a drain timeout ended', () => {
    expect(formatEvent(all[11]!, '/p')).toBe('baton  gen 1 stopped after 40 ms — served 12,345 requests, 0 5xx, p99 4.1 ms; --drain-timeout passed: 2 streams ended, 1 WebSocket closed; ignored SIGTERM, killed after --stop-timeout');
  });
  it('says what changed in the files a generation starts from', () => {
    expect(formatEvent({ type: 'starting', gen: 5, port: 4100, pid: 9, reason: 'change', changes: [{ file: 'krakend.json', added: 3, removed: 1, status: 'changed' }], endpoints: { added: ['GET /v1/users'], removed: [], changed: ['POST /v1/items'] } }, '/p')).toBe(
      'baton  gen 5 starting on :4100 (change) — krakend.json: +3 −1 lines; endpoints +GET /v1/users, ~POST /v1/items',
    );
  });
  it('says who keeps serving after a rejection, and shows the gateway output', () => {
    expect(formatEvent(all[8]!, '/p')).toBe('baton  gen 3 rejected: exited with code 1 before becoming healthy — gen 2 keeps serving\n  │ ERROR parsing');
    expect(formatEvent({ type: 'rejected', gen: 1, reason: 'x', output: [], serving: undefined }, '/p')).toMatch(/nothing is serving: requests get 503 until a good save/);
  });
});

describe('request ring', () => {
  const entry = (target: string, body = ''): Parameters<RequestRing['add']>[0] => ({
    gen: 1, method: 'GET', target, startedAt: 1, status: 200, own: false, ttfbMs: 1, totalMs: 2, bytesIn: body.length, bytesOut: 0,
    requestHead: `GET ${target} HTTP/1.1\r\nHost: x\r\n`, responseHead: 'HTTP/1.1 200 OK\r\n',
    requestBody: body ? [Buffer.from(body.slice(0, 3)), Buffer.from(body.slice(3))] : undefined, requestBodyTruncated: false, responseBody: undefined, responseBodyTruncated: false,
  });

  it('gives entries back newest first, as they went in, bodies joined', () => {
    const ring = new RequestRing(64 * 1024, 1024);
    ring.add(entry('/a'));
    const id = ring.add(entry('/b', 'hello world'));
    expect(ring.list().map((e) => e.target)).toEqual(['/b', '/a']);
    expect(ring.get(id)).toMatchObject({ method: 'GET', target: '/b', status: 200, requestHead: 'GET /b HTTP/1.1\r\nHost: x\r\n', responseHead: 'HTTP/1.1 200 OK\r\n', requestBodyTruncated: false });
    expect(ring.get(id)!.requestBody!.toString()).toBe('hello world');
  });

  it('cuts a body at its cap and marks it', () => {
    const ring = new RequestRing(64 * 1024, 4);
    const id = ring.add(entry('/b', 'hello world'));
    expect(ring.get(id)!.requestBody!.toString()).toBe('hell');
    expect(ring.get(id)!.requestBodyTruncated).toBe(true);
  });

  it('stays within its bytes across many laps, dropping the oldest whole entries', () => {
    const ring = new RequestRing(16 * 1024, 1024);
    const ids: number[] = [];
    for (let i = 0; i < 2000; i++) ids.push(ring.add(entry(`/r${i}`, 'x'.repeat(i % 700))));
    expect(ring.bytes).toBeLessThanOrEqual(16 * 1024);
    const kept = ring.list();
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBe(ring.size);
    // Every entry kept reads back whole, the newest first, and dropped ones are gone.
    kept.forEach((e, i) => {
      const n = 1999 - i;
      expect(e.target).toBe(`/r${n}`);
      expect(e.requestBody?.length ?? 0).toBe(n % 700);
    });
    expect(ring.get(ids[0]!)).toBeUndefined();
  });

  it('keeps nothing with a cap of 0', () => {
    const ring = new RequestRing(0, 1024);
    expect(ring.add(entry('/a'))).toBe(0);
    expect(ring.list()).toEqual([]);
    expect(ring.enabled).toBe(false);
  });
});

describe('log histogram', () => {
  it('gives every percentile within 5 % of the exact one, and windows by difference', () => {
    // A skewed spread of latencies, 0.05 ms to 2 s, with a deterministic generator.
    let seed = 7;
    const next = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const values = Array.from({ length: 20000 }, () => 0.05 * Math.exp(next() * Math.log(40000)));
    const h = new LogHistogram();
    for (const v of values.slice(0, 10000)) h.add(v);
    const before = h.snapshot();
    for (const v of values.slice(10000)) h.add(v);
    const exact = (sample: number[], p: number): number => [...sample].sort((a, b) => a - b)[Math.ceil((p / 100) * sample.length) - 1]!;
    for (const p of [1, 50, 90, 99, 99.9]) {
      const got = h.percentile(p);
      const want = exact(values, p);
      expect(got / want, `p${p}`).toBeGreaterThanOrEqual(1);
      expect(got / want, `p${p}`).toBeLessThanOrEqual(1.05);
      const window = difference(h.counts, before);
      expect(window.total).toBe(10000);
      const w = percentileOf(window.counts, window.total, p) / exact(values.slice(10000), p);
      expect(w, `window p${p}`).toBeGreaterThanOrEqual(1);
      expect(w, `window p${p}`).toBeLessThanOrEqual(1.05);
    }
    expect(new LogHistogram().percentile(50)).toBeNaN();
  });
});

describe('config history', () => {
  it('diffs each generation against the one before, counts lines, and names KrakenD endpoints added, removed and changed', () => {
    const tmp = tempDir();
    try {
      const file = tmp.file('krakend.json');
      const endpoint = (path: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ endpoint: path, backend: [{ url_pattern: path }], ...extra });
      writeConfig(file, { version: 3, endpoints: [endpoint('/a'), endpoint('/b'), endpoint('/c', { method: 'post' })] });
      const history = new ConfigHistory(tmp.dir);
      expect(history.record(1, [file])).toMatchObject({ gen: 1, changes: [], diff: '' });
      writeConfig(file, { version: 3, endpoints: [endpoint('/a', { timeout: '2s' }), endpoint('/c', { method: 'post' }), endpoint('/d')] });
      const second = history.record(2, [file]);
      expect(second.endpoints).toEqual({ added: ['GET /d'], removed: ['GET /b'], changed: ['GET /a'] });
      expect(second.changes).toHaveLength(1);
      expect(second.changes[0]).toMatchObject({ file: 'krakend.json', status: 'changed' });
      expect(second.changes[0]!.added).toBeGreaterThan(0);
      expect(second.diff).toContain('--- a/krakend.json');
      expect(second.diff).toContain('+      "endpoint": "/d"');
      expect(second.diff).toContain('-      "endpoint": "/b"');
      // An unchanged file is no change; a file that is not a KrakenD config has no endpoints.
      expect(history.record(3, [file]).changes).toEqual([]);
      const other = tmp.file('Caddyfile');
      writeText(other, ':8080 {\n\trespond "hi"\n}\n');
      const fourth = history.record(4, [file, other]);
      expect(fourth.changes).toEqual([{ file: 'Caddyfile', added: 3, removed: 0, status: 'added' }]);
      expect(fourth.endpoints).toBeUndefined();
      expect(history.get(2)).toBe(second);
    } finally {
      tmp.remove();
    }
  });
});
