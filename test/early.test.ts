import { describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE } from './helpers/baton-process.js';
import { sleep, writeConfig, writeText } from './helpers/files.js';
import { getJson, waitForVersion } from './helpers/http.js';
import { useHarness } from './helpers/harness.js';

const h = useHarness();

/** The fixture behind baton with a long debounce, so the window it opens is unmistakable. */
function startWithDebounce(config: string, debounceMs: number): BatonProcess {
  return BatonProcess.start(['-p', '0', '--debounce', String(debounceMs), '-w', config, '--', 'node', FIXTURE, config]);
}

describe('early start: the new instance boots during the debounce', () => {
  it('a save starts its instance at once, and it is promoted only when the debounce has passed', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startWithDebounce(config, 3000);
    const url = await h.baton.url();
    await h.baton.serving(1);

    writeConfig(config, { version: 'v2' });
    const change = await h.baton.waitFor((e) => e.type === 'change');
    expect(change.early).toBe(true);
    const starting = await h.baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    // The candidate answers on its private port with the new config…
    await waitForVersion(`http://127.0.0.1:${starting.port as number}/`, 'v2');
    // …while the public port keeps serving the old one until the files have been quiet for --debounce.
    await sleep(300);
    expect(h.baton.events.some((e) => e.type === 'serving' && e.gen === 2)).toBe(false);
    expect((await getJson(url)).version).toBe('v1');

    await h.baton.serving(2);
    expect((await getJson(url)).version).toBe('v2');
    expect(h.baton.events.filter((e) => e.type === 'change')).toHaveLength(1);
    expect(h.baton.events.some((e) => e.type === 'abandoned' || e.type === 'rejected')).toBe(false);
  });

  it('a change undone within the debounce: the early instance is abandoned quietly, nothing is promoted', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startWithDebounce(config, 1500);
    const url = await h.baton.url();
    await h.baton.serving(1);

    writeConfig(config, { version: 'v2' });
    await h.baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    writeConfig(config, { version: 'v1' });
    await h.baton.waitFor((e) => e.type === 'abandoned' && e.gen === 2);
    expect((await getJson(url)).version).toBe('v1');

    // The watcher is live: the next real save is served, by the next generation.
    writeConfig(config, { version: 'v3' });
    await h.baton.serving(3);
    expect((await getJson(url)).version).toBe('v3');
    expect(h.baton.events.some((e) => (e.type === 'serving' && e.gen === 2) || e.type === 'rejected')).toBe(false);
  });

  it('an early instance started from half a save fails quietly; the finished save is served', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startWithDebounce(config, 1500);
    const url = await h.baton.url();
    await h.baton.serving(1);

    writeText(config, '{"version": ');
    await h.baton.waitFor((e) => e.type === 'output' && e.gen === 2 && String(e.line).includes('ERROR parsing'));
    writeConfig(config, { version: 'v2' });
    await h.baton.serving(3);
    expect((await getJson(url)).version).toBe('v2');
    expect(h.baton.events.some((e) => e.type === 'abandoned' && e.gen === 2)).toBe(true);
    expect(h.baton.events.some((e) => e.type === 'rejected')).toBe(false);
  });

  it('an early change that cut a starting instance short and is then undone starts that instance again', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startWithDebounce(config, 1000);
    const url = await h.baton.url();
    await h.baton.serving(1);

    // A slow-starting config, saved and settled (the debounce passes while it boots).
    writeConfig(config, { version: 'v2', listenDelayMs: 4000 });
    await h.baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    await sleep(1500);
    // Another save cuts it short, then is undone: the files are back to the slow config.
    writeConfig(config, { version: 'v3' });
    await h.baton.waitFor((e) => e.type === 'abandoned' && e.gen === 2);
    writeConfig(config, { version: 'v2', listenDelayMs: 4000 });
    await h.baton.waitFor((e) => e.type === 'abandoned' && e.gen === 3);

    const served = await h.baton.waitFor((e) => e.type === 'serving' && e.gen !== 1, { timeoutMs: 20_000 });
    expect(served.gen).toBe(4);
    expect((await getJson(url)).version).toBe('v2');
  });
});
