import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import getPort from 'get-port';
import { describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE, isAlive } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { getJson, request, waitForVersion } from './helpers/http.js';
import { startFixture, useHarness } from './helpers/harness.js';

const h = useHarness();

describe('faults of the gateway', () => {
  it('an old generation that exits while draining is reported stopped; the new one keeps serving, nothing restarts', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config);
    const url = await h.baton.url();
    await h.baton.serving(1);
    const slow = request(`${url}/slow?ms=3000`).catch((err: Error) => err);
    await sleep(100);
    writeConfig(config, { version: 'v2' });
    await h.baton.serving(2);
    await h.baton.waitFor((e) => e.type === 'draining' && e.gen === 1 && e.inflight === 1);
    process.kill(h.baton.gatewayPids()[0]!, 'SIGKILL');
    const stopped = await h.baton.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.forced).toBe(false);
    await slow; // its gateway died under it: an error or a 502, but it does not hang
    expect((await getJson(url)).version).toBe('v2');
    expect(h.baton.events.some((e) => e.type === 'crashed')).toBe(false);
    expect(h.baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
  });

  it('a retired generation takes the processes it spawned with it', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', spawnChild: true });
    h.baton = startFixture(config);
    await h.baton.serving(1);
    const child = await h.baton.waitFor((e) => e.type === 'output' && /^child \d+$/.test(e.line as string));
    const grandchild = Number((child.line as string).split(' ')[1]);
    expect(isAlive(grandchild)).toBe(true);
    writeConfig(config, { version: 'v2' });
    await h.baton.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(isAlive(grandchild)).toBe(false);
  });

  it('50 MB of gateway output is streamed through, not buffered: baton keeps serving', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'chatty', chatter: { lines: 500_000, bytes: 100 } });
    // --quiet: baton still reads every line; the test harness just does not keep 50 MB of events.
    const port = await getPort({ host: '127.0.0.1' });
    h.baton = BatonProcess.raw(['-q', '-p', String(port), '-w', config, '--', 'node', FIXTURE, config]);
    const url = `http://127.0.0.1:${port}`;
    // Requests are held until the gateway, busy printing, becomes healthy; then answered.
    let body: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !body; i++) body = await getJson(url).catch(() => sleep(100).then(() => undefined));
    expect(body?.version).toBe('chatty');
    expect(h.baton.stderr).toBe('');
  });
});

describe('faults around the gateway', () => {
  it('a gateway that writes a file into the watched folder at start does not cause a reload loop', async () => {
    const dir = h.tmp.file('conf');
    mkdirSync(dir);
    const config = `${dir}/gateway.json`;
    // Same bytes at every start: the content hash absorbs it. (A render that creates the
    // file for the first time is a change like any other.)
    writeFileSync(`${dir}/rendered.json`, 'stable');
    writeConfig(config, { version: 'v1', writeFile: { path: `${dir}/rendered.json`, content: 'stable' } });
    h.baton = startFixture(config, [], { watch: [dir] });
    await h.baton.serving(1);
    writeConfig(config, { version: 'v2', writeFile: { path: `${dir}/rendered.json`, content: 'stable' } });
    await h.baton.serving(2);
    await sleep(500);
    expect(h.baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
  });

  it('with output that differs at every start, --ignore keeps the loop away', async () => {
    const dir = h.tmp.file('conf');
    mkdirSync(dir);
    const config = `${dir}/gateway.json`;
    writeConfig(config, { version: 'v1', writeFile: { path: `${dir}/out.json`, content: '{time}' } });
    h.baton = startFixture(config, ['--ignore', 'out.json'], { watch: [dir] });
    await h.baton.serving(1);
    writeConfig(config, { version: 'v2', writeFile: { path: `${dir}/out.json`, content: '{time}' } });
    await h.baton.serving(2);
    await sleep(500);
    expect(h.baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
  });

  it('watching continues when the watched folder is renamed away and created again', async () => {
    const dir = h.tmp.file('conf');
    mkdirSync(dir);
    writeConfig(`${dir}/gateway.json`, { version: 'v1' });
    h.baton = startFixture(`${dir}/gateway.json`, [], { watch: [dir] });
    const url = await h.baton.url();
    await h.baton.serving(1);
    renameSync(dir, h.tmp.file('conf.old'));
    await sleep(200);
    mkdirSync(dir);
    writeConfig(`${dir}/gateway.json`, { version: 'v2' });
    await waitForVersion(url, 'v2');
    // The folder is watched again: a later save still reloads.
    writeConfig(`${dir}/gateway.json`, { version: 'v3' });
    await waitForVersion(url, 'v3');
  });

  it('--poll notices changes by polling', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, ['--poll']);
    const url = await h.baton.url();
    await h.baton.serving(1);
    writeConfig(config, { version: 'polled' });
    await h.baton.serving(2);
    expect((await getJson(url)).version).toBe('polled');
  });
});

describe('SIGTERM to baton in every state leaves nothing behind', () => {
  it('while draining: the in-flight request finishes, exit 0', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config);
    const url = await h.baton.url();
    await h.baton.serving(1);
    const slow = request(`${url}/slow?ms=800`);
    await sleep(100);
    writeConfig(config, { version: 'v2' });
    await h.baton.waitFor((e) => e.type === 'draining' && e.gen === 1 && e.inflight === 1);
    expect((await h.baton.stop('SIGTERM')).code).toBe(0);
    expect((await slow).body).toBe('slow v1\n');
    expect(h.baton.gatewayPids().filter(isAlive)).toEqual([]);
  });

  it('while a candidate is starting next to a serving instance: exit 0', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config);
    await h.baton.serving(1);
    writeConfig(config, { version: 'v2', listenDelayMs: 5000 });
    await h.baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    expect((await h.baton.stop('SIGTERM')).code).toBe(0);
    expect(h.baton.gatewayPids().filter(isAlive)).toEqual([]);
  });

  it('while an early-started instance is healthy and waits for the debounce to pass: exit 0', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '5000', '-w', config, '--', 'node', FIXTURE, config]);
    await h.baton.serving(1);
    writeConfig(config, { version: 'v2' });
    const starting = await h.baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    await waitForVersion(`http://127.0.0.1:${starting.port as number}/`, 'v2');
    expect((await h.baton.stop('SIGTERM')).code).toBe(0);
    expect(h.baton.gatewayPids().filter(isAlive)).toEqual([]);
    expect(h.baton.events.some((e) => e.type === 'serving' && e.gen === 2)).toBe(false);
  });

  it('while waiting to restart after a crash: exit 0', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', crashAfterMs: 300 });
    h.baton = startFixture(config);
    await h.baton.waitFor((e) => e.type === 'crashed' && typeof e.restartInMs === 'number');
    expect((await h.baton.stop('SIGTERM')).code).toBe(0);
    expect(h.baton.gatewayPids().filter(isAlive)).toEqual([]);
  });
});
