import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, isAlive, type BatonProcess } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { startFixture, useHarness } from './helpers/harness.js';
import { getJson, request } from './helpers/http.js';
import { Load } from './helpers/load.js';

// Reload experiments (docs/experiments.md): preview, manual promotion, abort, instant
// rollback, verify by replay, mirror, canary with analysis, the post-promotion guard. Real
// processes and sockets; the fixture gateway's config decides how good a candidate is.

const h = useHarness();

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function start(config: Record<string, unknown>, flags: string[]): Promise<{ url: string; admin: string; file: string; baton: BatonProcess }> {
  const file = h.tmp.file('gateway.json');
  writeConfig(file, config);
  h.baton = startFixture(file, flags);
  const listening = await h.baton.waitFor((e) => e.type === 'listening');
  await h.baton.serving(1);
  return { url: listening.url as string, admin: listening.admin as string, file, baton: h.baton };
}

async function post(admin: string, path: string): Promise<{ status: number; body: Json }> {
  const reply = await request(`${admin}${path}`, { method: 'POST' });
  return { status: reply.status, body: JSON.parse(reply.body) as Json };
}

const version = async (url: string, headers: Record<string, string> = {}): Promise<string> => JSON.parse((await request(url, { headers })).body).version as string;

describe('preview and manual promotion', () => {
  it('a healthy candidate waits: the preview port and baton-generation reach it while the public port serves the old; POST /api/promote promotes it', async () => {
    const { url, admin, file, baton } = await start({ version: 'v1' }, ['--promote', 'manual', '--preview', '0']);
    const listening = baton.events.find((e) => e.type === 'listening')!;
    const preview = listening.preview as string;
    expect(preview).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Before any candidate, the preview port shows what serves.
    expect(await version(preview)).toBe('v1');
    expect((await post(admin, '/api/promote')).status).toBe(409);

    writeConfig(file, { version: 'v2' });
    const waiting = await baton.waitFor((e) => e.type === 'preview' && e.gen === 2);
    expect(waiting).toMatchObject({ url: preview, header: 'baton-generation: 2' });
    expect(await version(url)).toBe('v1');
    expect(await version(preview)).toBe('v2');
    expect(await version(url, { 'baton-generation': '2' })).toBe('v2');
    expect(await version(url, { 'baton-generation': '1' })).toBe('v1');
    const notLive = await request(url, { headers: { 'baton-generation': '9' } });
    expect(notLive.status).toBe(503);
    expect(notLive.body).toMatch(/generation 9 is not live \(baton-generation names one of: 2, 1\)/);
    await sleep(300);
    expect(baton.events.filter((e) => e.type === 'serving')).toHaveLength(1);

    expect((await post(admin, '/api/promote')).status).toBe(202);
    await baton.serving(2);
    expect(await version(url)).toBe('v2');
  });

  it('from another terminal: baton status says what waits and what is kept; baton promote, rollback and abort act or say why not', async () => {
    const file = h.tmp.file('gateway.json');
    writeConfig(file, { version: 'v1' });
    h.baton = startFixture(file, ['--promote', 'manual', '--keep-previous', '60000'], { cwd: h.tmp.dir });
    const url = (await h.baton.waitFor((e) => e.type === 'listening')).url as string;
    await h.baton.serving(1);
    const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
      const run = spawnSync(process.execPath, [CLI, ...args], { cwd: h.tmp.dir, encoding: 'utf8', timeout: 20_000 });
      return { status: run.status, stdout: run.stdout, stderr: run.stderr };
    };
    const none = cli('promote');
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^baton: the control plane answered 409: no candidate is waiting for promotion or in a canary/);

    writeConfig(file, { version: 'v2' });
    await h.baton.waitFor((e) => e.type === 'preview' && e.gen === 2);
    const waiting = cli('status');
    expect(waiting.stdout).toMatch(/^2 +preview /m);
    expect(waiting.stdout).toContain('gen 2 waits for promotion: baton promote, or baton abort\n');
    expect(cli('promote')).toMatchObject({ status: 0, stdout: 'promotion requested\n' });
    await h.baton.serving(2);
    expect(await version(url)).toBe('v2');
    expect(cli('status').stdout).toMatch(/gen 1 is kept for a rollback for \d+ s more: baton rollback\n/);
    expect(cli('rollback')).toMatchObject({ status: 0, stdout: 'rollback requested\n' });
    await h.baton.waitFor((e) => e.type === 'rolled-back' && e.gen === 2);
    expect(await version(url)).toBe('v1');
    const noAbort = cli('abort');
    expect(noAbort.status).toBe(1);
    expect(noAbort.stderr).toContain('no candidate is waiting for promotion or in a canary');
  });

  it('the serving generation crashing while a candidate waits: the healthy candidate is promoted at once, not restarted over', async () => {
    const { url, file, baton } = await start({ version: 'v1' }, ['--promote', 'manual']);
    writeConfig(file, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'preview' && e.gen === 2);
    expect((await request(`${url}/crash`)).status).toBe(200); // gen 1 answers, then exits
    await baton.waitFor((e) => e.type === 'crashed' && e.gen === 1);
    await baton.serving(2);
    expect(await version(url)).toBe('v2');
    await sleep(500);
    // No restart of the crashed config replaced it.
    expect(baton.events.filter((e) => e.type === 'starting').map((e) => e.gen)).toEqual([1, 2]);
  });

  it('POST /api/abort stops the waiting candidate; a newer save replaces a waiting one', async () => {
    const { url, admin, file, baton } = await start({ version: 'v1' }, ['--promote', 'manual']);
    writeConfig(file, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'preview' && e.gen === 2);
    expect((await post(admin, '/api/abort')).status).toBe(202);
    await baton.waitFor((e) => e.type === 'abandoned' && e.gen === 2);
    await baton.waitFor((e) => e.type === 'stopped' && e.gen === 2);
    const pid2 = baton.events.find((e) => e.type === 'starting' && e.gen === 2)!.pid as number;
    expect(isAlive(pid2)).toBe(false);
    expect(await version(url)).toBe('v1');

    writeConfig(file, { version: 'v3' });
    await baton.waitFor((e) => e.type === 'preview' && e.gen === 3);
    writeConfig(file, { version: 'v4' });
    await baton.waitFor((e) => e.type === 'abandoned' && e.gen === 3);
    await baton.waitFor((e) => e.type === 'preview' && e.gen === 4);
    expect((await post(admin, '/api/promote')).status).toBe(202);
    await baton.serving(4);
    expect(await version(url)).toBe('v4');
  });
});

describe('instant rollback', () => {
  it('within --keep-previous, a rollback under keep-alive load fails no request and the old config serves again; after the window it says why not', async () => {
    const { url, admin, file, baton } = await start({ version: 'v1' }, ['--keep-previous', '1500']);
    const load = new Load(url, { clients: 6, slowClients: 2, slowMs: 300 });
    writeConfig(file, { version: 'v2' });
    await baton.serving(2);
    await sleep(200);
    // Kept warm: drained, but alive.
    const pid1 = baton.events.find((e) => e.type === 'starting' && e.gen === 1)!.pid as number;
    expect(baton.events.some((e) => e.type === 'stopped' && e.gen === 1)).toBe(false);
    expect(isAlive(pid1)).toBe(true);
    expect((await post(admin, '/api/rollback')).status).toBe(202);
    const rolled = await baton.waitFor((e) => e.type === 'rolled-back');
    expect(rolled).toMatchObject({ gen: 2, serving: 1, reason: 'asked for' });
    await baton.waitFor((e) => e.type === 'stopped' && e.gen === 2);
    await sleep(200);
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect(await version(url)).toBe('v1');
    const status = (await getJson(`${admin}/api/status`)) as Json;
    expect(status.serving).toBe(1);

    // A new promotion, then the window passes: nothing to roll back to, and why.
    writeConfig(file, { version: 'v3' });
    await baton.serving(3);
    await baton.waitFor((e) => e.type === 'stopped' && e.gen === 1, { timeoutMs: 5000 });
    const late = await post(admin, '/api/rollback');
    expect(late.status).toBe(409);
    expect(late.body.error).toBe('nothing to roll back to: generation 1 was stopped when --keep-previous (1500 ms) passed');
  });
});

describe('verify by replay', () => {
  const routes = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => ({ '/a': a, '/b': b, '/c': { body: { same: true } } });

  it('report: the routes that answer differently are named, a noisy field is not', async () => {
    const { url, file, baton } = await start({ version: 'v1', noise: true, routes: routes({ body: { x: 1 } }, { body: { y: 1 } }) }, ['--verify', 'report']);
    for (const path of ['/a', '/b', '/c', '/a']) expect((await request(`${url}${path}`)).status).toBe(200);
    writeConfig(file, { version: 'v2', noise: true, routes: routes({ status: 404, body: { x: 1 } }, { body: { y: 2 } }) });
    const verified = await baton.waitFor((e) => e.type === 'verified' && e.gen === 2);
    expect(verified.source).toBe('replay');
    expect(verified.compared).toBe(3);
    const differing = (verified.differing as Json[]).map((d) => [d.target, d.status, d.fields]).sort();
    expect(differing).toEqual([
      ['/a', [200, 404], []],
      ['/b', [200, 200], ['y']],
    ]);
    // Report only: it is promoted anyway.
    await baton.serving(2);
  });

  it('gate: a candidate that turns a 2xx into a 5xx is rejected with the routes in the reason; the old keeps serving', async () => {
    const { url, file, baton } = await start({ version: 'v1', routes: routes({ body: { x: 1 } }, { body: { y: 1 } }) }, ['--verify', 'gate']);
    for (const path of ['/a', '/b', '/c']) await request(`${url}${path}`);
    writeConfig(file, { version: 'v2', routes: routes({ body: { x: 1 } }, { status: 500, body: { y: 1 } }) });
    const rejected = await baton.waitFor((e) => e.type === 'rejected' && e.gen === 2);
    expect(rejected.reason).toBe('--verify gate: 1 of 3 replayed requests answer differently: GET /b 200 → 500');
    expect(rejected.serving).toBe(1);
    expect(baton.events.find((e) => e.type === 'verified' && e.gen === 2)).toMatchObject({ passed: false });
    expect(await version(url)).toBe('v1');
  });
});

describe('mirror', () => {
  it('copies live safe requests to the candidate and reports the differences; a candidate that hangs or resets on copies never hurts a client', async () => {
    for (const onMirror of ['hang', 'reset'] as const) {
      const { url, file, baton } = await start({ version: 'v1' }, ['--mirror', '800', '--stop-timeout', '500']);
      const load = new Load(url, { clients: 6, mode: 'get' });
      writeConfig(file, { version: 'v2', onMirror });
      await baton.serving(2);
      const result = await load.stop();
      expect(result.failed, `${onMirror}: ${JSON.stringify(result.causes)}`).toBe(0);
      // The copies did reach the candidate (it counts them).
      expect(((await getJson(`${url}/__hits`)) as Json).mirrored, onMirror).toBeGreaterThan(0);
      const reports = baton.events.filter((e) => e.type === 'verified' && e.gen === 2 && (e.compared as number) > 0);
      if (onMirror === 'hang') {
        // Copies still out when the mirror stops are closed, never compared.
        expect(reports).toEqual([]);
      } else {
        // A reset where the serving generation answered is a difference: the candidate gave no answer.
        expect(reports).toHaveLength(1);
        expect((reports[0]!.differing as Json[])[0]).toMatchObject({ status: [200, 0], noAnswer: 'ECONNRESET' });
      }
      await baton.stop('SIGTERM');
    }
    const { url, file, baton } = await start({ version: 'v1', routes: { '/m': { body: { n: 1 } } } }, ['--mirror', '800']);
    let running = true;
    const traffic = (async () => {
      while (running) expect((await request(`${url}/m`)).status).toBe(200);
    })();
    writeConfig(file, { version: 'v2', routes: { '/m': { body: { n: 2 } } } });
    const verified = await baton.waitFor((e) => e.type === 'verified' && e.gen === 2);
    running = false;
    await traffic;
    expect(verified.source).toBe('mirror');
    expect(verified.compared).toBeGreaterThan(0);
    expect((verified.differing as Json[]).map((d) => [d.target, d.fields])).toContainEqual(['/m', ['n']]);
  });
});

describe('canary', () => {
  it('a bad candidate (5xx) is rolled back after its first step; the old one takes everything again', async () => {
    const { url, file, baton } = await start({ version: 'v1' }, ['--canary', '30,60', '--canary-interval', '700', '--health', '/__health']);
    const load = new Load(url, { clients: 6, mode: 'get' });
    writeConfig(file, { version: 'v2', routes: { '/': { status: 500 } } });
    await baton.waitFor((e) => e.type === 'canary' && e.gen === 2 && e.step === 1);
    const analysis = await baton.waitFor((e) => e.type === 'analysis' && e.gen === 2);
    expect(analysis).toMatchObject({ phase: 'canary', step: 1, passed: false });
    expect(analysis.reason).toMatch(/^success rate 0 % < 99 %/);
    const rolled = await baton.waitFor((e) => e.type === 'rolled-back' && e.gen === 2);
    expect(rolled).toMatchObject({ serving: 1 });
    expect(rolled.reason).toMatch(/^canary step 1 \(30 %\): success rate 0 % < 99 %/);
    await load.stop();
    await baton.waitFor((e) => e.type === 'stopped' && e.gen === 2);
    expect(baton.events.some((e) => e.type === 'serving' && e.gen === 2)).toBe(false);
    for (let i = 0; i < 20; i++) expect(await version(url)).toBe('v1');
  });

  it('a good candidate takes its share at each step, passes the analyses and is promoted', async () => {
    const { url, admin, file, baton } = await start({ version: 'v1' }, ['--canary', '30,60', '--canary-interval', '600']);
    const load = new Load(url, { clients: 6, mode: 'get' });
    writeConfig(file, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'canary' && e.gen === 2 && e.step === 1);
    const status = (await getJson(`${admin}/api/status`)) as Json;
    expect(status.generations.find((g: Json) => g.gen === 2)).toMatchObject({ state: 'canary', weight: 30 });
    await baton.serving(2, 10_000);
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    const analyses = baton.events.filter((e) => e.type === 'analysis' && e.gen === 2);
    expect(analyses.map((e) => [e.step, e.passed])).toEqual([
      [1, true],
      [2, true],
    ]);
    // Both generations answered during the steps.
    expect(result.versions).toEqual(expect.arrayContaining(['v1', 'v2']));
    expect((analyses[0]!.candidate as Json).requests).toBeGreaterThan(0);
    expect(await version(url)).toBe('v2');
  });

  it('POST /api/promote during a step skips the rest of the canary; POST /api/abort during one stops the candidate', async () => {
    const { url, admin, file, baton } = await start({ version: 'v1' }, ['--canary', '20,50', '--canary-interval', '120000']);
    writeConfig(file, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'canary' && e.gen === 2 && e.step === 1);
    expect(((await getJson(`${admin}/api/status`)) as Json).experiments).toMatchObject({ waiting: null, canary: { gen: 2, weight: 20 } });
    expect((await post(admin, '/api/promote')).status).toBe(202);
    await baton.serving(2);
    expect(baton.events.filter((e) => e.type === 'analysis' || (e.type === 'canary' && e.step === 2))).toEqual([]);
    expect(await version(url)).toBe('v2');

    writeConfig(file, { version: 'v3' });
    await baton.waitFor((e) => e.type === 'canary' && e.gen === 3 && e.step === 1);
    expect((await post(admin, '/api/abort')).status).toBe(202);
    await baton.waitFor((e) => e.type === 'stopped' && e.gen === 3);
    expect(((await getJson(`${admin}/api/status`)) as Json).experiments.canary).toBeNull();
    for (let i = 0; i < 20; i++) expect(await version(url)).toBe('v2');
    expect((await post(admin, '/api/promote')).status).toBe(409);
  });

  it('the post-promotion guard rolls back a generation that goes bad after its promotion', async () => {
    const { url, file, baton } = await start({ version: 'v1' }, ['--guard', 'on', '--keep-previous', '8000', '--canary-interval', '500', '--health', '/__health']);
    const load = new Load(url, { clients: 4, mode: 'get' });
    writeConfig(file, { version: 'v2', turnBadAfterMs: 400 });
    await baton.serving(2);
    const rolled = await baton.waitFor((e) => e.type === 'rolled-back' && e.gen === 2, { timeoutMs: 10_000 });
    expect(rolled.reason).toMatch(/^guard: success rate/);
    expect(rolled.serving).toBe(1);
    await load.stop();
    const guard = baton.events.filter((e) => e.type === 'analysis' && e.phase === 'guard');
    expect(guard.at(-1)).toMatchObject({ gen: 2, passed: false });
    for (let i = 0; i < 10; i++) expect(await version(url)).toBe('v1');
  });
});

describe('shutdown in every phase', () => {
  it.each([
    ['a candidate waiting for manual promotion', ['--promote', 'manual'], 'preview'],
    ['a canary step', ['--canary', '50', '--canary-interval', '60000'], 'canary'],
    ['a previous generation kept warm', ['--keep-previous', '60000'], 'serving'],
  ])('SIGTERM during %s exits 0 and leaves no gateway', async (_name, flags, phase) => {
    const { file, baton } = await start({ version: 'v1' }, flags);
    writeConfig(file, { version: 'v2' });
    await baton.waitFor((e) => e.type === phase && e.gen === 2);
    const exit = await baton.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(baton.gatewayPids().filter(isAlive)).toEqual([]);
  });
});
