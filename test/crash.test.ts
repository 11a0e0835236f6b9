import { describe, expect, it } from 'vitest';
import { isAlive } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { getJson, request } from './helpers/http.js';
import { Load } from './helpers/load.js';
import { startFixture, useHarness } from './helpers/harness.js';

const h = useHarness();

describe('crash of the serving instance', () => {
  it('holds requests while it restarts, then serves them from the new instance', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config);
    const url = await h.baton.url();
    await h.baton.serving(1);

    const load = new Load(url, { clients: 6, mode: 'get' });
    await sleep(200);
    expect((await request(`${url}/crash`)).status).toBe(200);
    const crashed = await h.baton.waitFor((e) => e.type === 'crashed' && e.gen === 1);
    expect(crashed.reason).toBe('exited with code 3');
    expect(crashed.restartInMs).toBeTypeOf('number');
    const restarted = await h.baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    expect(restarted.reason).toBe('crash');
    await h.baton.serving(2);
    await sleep(200);
    const result = await load.stop();

    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect((await getJson(url)).generation).toBe('2');
  });

  it('a change undone while a crash restart waits for its backoff: the restart is still made', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'loop', crashAfterMs: 300 });
    h.baton = startFixture(config, ['--debounce', '400']);
    await h.baton.waitFor((e) => e.type === 'crashed' && (e.restartInMs as number) >= 800, { timeoutMs: 30_000 });
    // During the backoff: a save (an early start, which cuts the wait short), undone within the debounce.
    writeConfig(config, { version: 'other' });
    const early = await h.baton.waitFor((e) => e.type === 'starting' && e.reason === 'change');
    await sleep(100);
    writeConfig(config, { version: 'loop', crashAfterMs: 300 });
    const abandoned = await h.baton.waitFor((e) => e.type === 'abandoned' && e.gen === early.gen);

    // Nothing serves and requests are held for a restart: it is made, from the files.
    const restart = await h.baton.waitFor((e) => e.type === 'starting' && (e.gen as number) > abandoned.gen!, { timeoutMs: 10_000 });
    expect(restart.reason).toBe('crash');
  });

  it('backs off a crash loop, gives up with a clear message, and tries again on the next save', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'loop', crashAfterMs: 300 });
    h.baton = startFixture(config);
    const url = await h.baton.url();
    const gaveUp = await h.baton.waitFor((e) => e.type === 'crashed' && e.restartInMs === undefined, { timeoutMs: 30_000 });
    const restarts = h.baton.events.filter((e) => e.type === 'crashed' && typeof e.restartInMs === 'number').map((e) => e.restartInMs as number);
    expect(restarts).toHaveLength(5);
    expect([...restarts].sort((a, b) => a - b)).toEqual(restarts); // backing off, never faster
    expect(restarts[4]).toBeGreaterThan(restarts[0]!);
    expect((gaveUp.output as string[]).join('\n')).toMatch(/panic: simulated crash/);

    const refused = await request(url);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/gave up after 5 restarts/);

    writeConfig(config, { version: 'fixed' });
    const next = await h.baton.waitFor((e) => e.type === 'serving' && (e.gen as number) > gaveUp.gen!);
    expect(next.type).toBe('serving');
    expect((await getJson(url)).version).toBe('fixed');
    expect(h.baton.gatewayPids().filter(isAlive)).toHaveLength(1);
  });
});
