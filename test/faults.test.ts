import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import getPort from 'get-port';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE, isAlive } from './helpers/baton-process.js';
import { sleep, tempDir, writeConfig } from './helpers/files.js';
import { getJson, request, waitForVersion } from './helpers/http.js';

let tmp: ReturnType<typeof tempDir>;
let baton: BatonProcess | undefined;

beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  await baton?.kill();
  baton = undefined;
  tmp.remove();
});

function startFixture(config: string, extra: string[] = [], cwd?: string): BatonProcess {
  return BatonProcess.start(['-p', '0', '--debounce', '20', ...extra, '--', 'node', FIXTURE, config], { cwd });
}

describe('faults of the gateway', () => {
  it('an old generation that exits while draining is reported stopped; the new one keeps serving, nothing restarts', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    baton = startFixture(config, ['-w', config]);
    const url = await baton.url();
    await baton.serving(1);
    const slow = request(`${url}/slow?ms=3000`).catch((err: Error) => err);
    await sleep(100);
    writeConfig(config, { version: 'v2' });
    await baton.serving(2);
    await baton.waitFor((e) => e.type === 'draining' && e.gen === 1 && e.inflight === 1);
    process.kill(baton.gatewayPids()[0]!, 'SIGKILL');
    const stopped = await baton.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.forced).toBe(false);
    await slow; // its gateway died under it: an error or a 502, but it does not hang
    expect((await getJson(url)).version).toBe('v2');
    expect(baton.events.some((e) => e.type === 'crashed')).toBe(false);
    expect(baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
  });

  it('a retired generation takes the processes it spawned with it', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', spawnChild: true });
    baton = startFixture(config, ['-w', config]);
    await baton.serving(1);
    const child = await baton.waitFor((e) => e.type === 'output' && /^child \d+$/.test(e.line as string));
    const grandchild = Number((child.line as string).split(' ')[1]);
    expect(isAlive(grandchild)).toBe(true);
    writeConfig(config, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(isAlive(grandchild)).toBe(false);
  });

  it('50 MB of gateway output is streamed through, not buffered: baton keeps serving', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'chatty', chatter: { lines: 500_000, bytes: 100 } });
    // --quiet: baton still reads every line; the test harness just does not keep 50 MB of events.
    const port = await getPort({ host: '127.0.0.1' });
    baton = BatonProcess.raw(['-q', '-p', String(port), '-w', config, '--', 'node', FIXTURE, config]);
    const url = `http://127.0.0.1:${port}`;
    // Requests are held until the gateway, busy printing, becomes healthy; then answered.
    let body: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !body; i++) body = await getJson(url).catch(() => sleep(100).then(() => undefined));
    expect(body?.version).toBe('chatty');
    expect(baton.stderr).toBe('');
  });
});

describe('faults around the gateway', () => {
  it('a gateway that writes a file into the watched folder at start does not cause a reload loop', async () => {
    const dir = tmp.file('conf');
    mkdirSync(dir);
    const config = `${dir}/gateway.json`;
    // Same bytes at every start: the content hash absorbs it. (A render that creates the
    // file for the first time is a change like any other.)
    writeFileSync(`${dir}/rendered.json`, 'stable');
    writeConfig(config, { version: 'v1', writeFile: { path: `${dir}/rendered.json`, content: 'stable' } });
    baton = startFixture(config, ['-w', dir]);
    await baton.serving(1);
    writeConfig(config, { version: 'v2', writeFile: { path: `${dir}/rendered.json`, content: 'stable' } });
    await baton.serving(2);
    await sleep(500);
    expect(baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
  });

  it('with output that differs at every start, --ignore keeps the loop away', async () => {
    const dir = tmp.file('conf');
    mkdirSync(dir);
    const config = `${dir}/gateway.json`;
    writeConfig(config, { version: 'v1', writeFile: { path: `${dir}/out.json`, content: '{time}' } });
    baton = startFixture(config, ['-w', dir, '--ignore', 'out.json']);
    await baton.serving(1);
    writeConfig(config, { version: 'v2', writeFile: { path: `${dir}/out.json`, content: '{time}' } });
    await baton.serving(2);
    await sleep(500);
    expect(baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
  });

  it('watching continues when the watched folder is renamed away and created again', async () => {
    const dir = tmp.file('conf');
    mkdirSync(dir);
    writeConfig(`${dir}/gateway.json`, { version: 'v1' });
    baton = startFixture(`${dir}/gateway.json`, ['-w', dir]);
    const url = await baton.url();
    await baton.serving(1);
    renameSync(dir, tmp.file('conf.old'));
    await sleep(200);
    mkdirSync(dir);
    writeConfig(`${dir}/gateway.json`, { version: 'v2' });
    await waitForVersion(url, 'v2');
    // The folder is watched again: a later save still reloads.
    writeConfig(`${dir}/gateway.json`, { version: 'v3' });
    await waitForVersion(url, 'v3');
  });

  it('--poll notices changes by polling', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    baton = startFixture(config, ['-w', config, '--poll']);
    const url = await baton.url();
    await baton.serving(1);
    writeConfig(config, { version: 'polled' });
    await baton.serving(2);
    expect((await getJson(url)).version).toBe('polled');
  });
});

describe('SIGTERM to baton in every state leaves nothing behind', () => {
  it('while draining: the in-flight request finishes, exit 0', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    baton = startFixture(config, ['-w', config]);
    const url = await baton.url();
    await baton.serving(1);
    const slow = request(`${url}/slow?ms=800`);
    await sleep(100);
    writeConfig(config, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'draining' && e.gen === 1 && e.inflight === 1);
    expect((await baton.stop('SIGTERM')).code).toBe(0);
    expect((await slow).body).toBe('slow v1\n');
    expect(baton.gatewayPids().filter(isAlive)).toEqual([]);
  });

  it('while a candidate is starting next to a serving instance: exit 0', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    baton = startFixture(config, ['-w', config]);
    await baton.serving(1);
    writeConfig(config, { version: 'v2', listenDelayMs: 5000 });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    expect((await baton.stop('SIGTERM')).code).toBe(0);
    expect(baton.gatewayPids().filter(isAlive)).toEqual([]);
  });

  it('while waiting to restart after a crash: exit 0', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', crashAfterMs: 300 });
    baton = startFixture(config, ['-w', config]);
    await baton.waitFor((e) => e.type === 'crashed' && typeof e.restartInMs === 'number');
    expect((await baton.stop('SIGTERM')).code).toBe(0);
    expect(baton.gatewayPids().filter(isAlive)).toEqual([]);
  });
});
