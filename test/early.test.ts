import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE } from './helpers/baton-process.js';
import { sleep, writeConfig, writeText } from './helpers/files.js';
import { getJson, waitForVersion } from './helpers/http.js';
import { useHarness } from './helpers/harness.js';

const h = useHarness();

/**
 * The fixture behind baton serving v1 as generation 1, with a long debounce so the
 * window it opens is unmistakable.
 */
async function servingV1(debounceMs: number): Promise<{ config: string; url: string; baton: BatonProcess }> {
  const config = h.tmp.file('gateway.json');
  writeConfig(config, { version: 'v1' });
  const baton = BatonProcess.start(['-p', '0', '--debounce', String(debounceMs), '-w', config, '--', 'node', FIXTURE, config]);
  h.baton = baton;
  const url = await baton.url();
  await baton.serving(1);
  return { config, url, baton };
}

describe('early start: the new instance boots during the debounce', () => {
  it('a save starts its instance at once, and it is promoted only when the debounce has passed', async () => {
    const { config, url, baton } = await servingV1(3000);

    writeConfig(config, { version: 'v2' });
    const change = await baton.waitFor((e) => e.type === 'change');
    expect(change.early).toBe(true);
    const starting = await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    // The candidate answers on its private port with the new config…
    await waitForVersion(`http://127.0.0.1:${starting.port as number}/`, 'v2');
    // …while the public port keeps serving the old one until the files have been quiet for --debounce.
    await sleep(300);
    expect(baton.events.some((e) => e.type === 'serving' && e.gen === 2)).toBe(false);
    expect((await getJson(url)).version).toBe('v1');

    await baton.serving(2);
    expect((await getJson(url)).version).toBe('v2');
    expect(baton.events.filter((e) => e.type === 'change')).toHaveLength(1);
    expect(baton.events.some((e) => e.type === 'abandoned' || e.type === 'rejected')).toBe(false);
  });

  it('a change undone within the debounce: the early instance is abandoned quietly, nothing is promoted', async () => {
    const { config, url, baton } = await servingV1(1500);

    writeConfig(config, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    writeConfig(config, { version: 'v1' });
    await baton.waitFor((e) => e.type === 'abandoned' && e.gen === 2);
    expect((await getJson(url)).version).toBe('v1');

    // The watcher is live: the next real save is served, by the next generation.
    writeConfig(config, { version: 'v3' });
    await baton.serving(3);
    expect((await getJson(url)).version).toBe('v3');
    expect(baton.events.some((e) => (e.type === 'serving' && e.gen === 2) || e.type === 'rejected')).toBe(false);
  });

  it('an early instance started from half a save fails quietly; the finished save is served', async () => {
    const { config, url, baton } = await servingV1(1500);

    writeText(config, '{"version": ');
    await baton.waitFor((e) => e.type === 'output' && e.gen === 2 && String(e.line).includes('ERROR parsing'));
    writeConfig(config, { version: 'v2' });
    await baton.serving(3);
    expect((await getJson(url)).version).toBe('v2');
    expect(baton.events.some((e) => e.type === 'abandoned' && e.gen === 2)).toBe(true);
    expect(baton.events.some((e) => e.type === 'rejected')).toBe(false);
  });

  it('an early change while an instance is starting waits for its verdict: undone, it never cuts that instance short', async () => {
    const { config, url, baton } = await servingV1(1000);

    // A slow-starting config, saved and settled (the debounce passes while it boots).
    writeConfig(config, { version: 'v2', listenDelayMs: 4000 });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    await sleep(1500);
    // Another save, undone within the debounce: the files are back to the slow config.
    writeConfig(config, { version: 'v3' });
    await baton.waitFor((e) => e.type === 'change' && e.early === true && baton.events.filter((c) => c.type === 'change').length === 2);
    writeConfig(config, { version: 'v2', listenDelayMs: 4000 });

    const served = await baton.waitFor((e) => e.type === 'serving' && e.gen !== 1, { timeoutMs: 20_000 });
    expect(served.gen).toBe(2);
    expect((await getJson(url)).version).toBe('v2');
    expect(baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
    expect(baton.events.some((e) => e.type === 'abandoned')).toBe(false);
  });

  it('an early change while an instance is starting that holds supersedes it when the debounce has passed', async () => {
    const { config, url, baton } = await servingV1(500);

    writeConfig(config, { version: 'v2', listenDelayMs: 4000 });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    await sleep(700);
    writeConfig(config, { version: 'v3' });
    await baton.waitFor((e) => e.type === 'abandoned' && e.gen === 2);
    await baton.serving(3);
    expect((await getJson(url)).version).toBe('v3');
    expect(baton.events.some((e) => e.type === 'serving' && e.gen === 2)).toBe(false);
  });

  it('a file in the watched folder rewritten with the bytes it had, after the early look, does not void the early change', async () => {
    const dir = h.tmp.file('conf');
    mkdirSync(dir);
    const config = `${dir}/gateway.json`;
    const other = `${dir}/other.json`;
    writeConfig(config, { version: 'v1' });
    writeText(other, 'stable');
    const baton = BatonProcess.start(['-p', '0', '--debounce', '1500', '-w', dir, '--', 'node', FIXTURE, config]);
    h.baton = baton;
    const url = await baton.url();
    await baton.serving(1);

    writeConfig(config, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    // Truncated, then written back with a pause between (a gateway rendering a file at start).
    writeText(other, '');
    await sleep(100);
    writeText(other, 'stable');

    await baton.serving(2);
    expect((await getJson(url)).version).toBe('v2');
    expect(baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
    expect(baton.events.some((e) => e.type === 'abandoned')).toBe(false);
  });

  it('a reload in the middle of a save that is then undone: the instance that read the half-written file is started again', async () => {
    const { config, url, baton } = await servingV1(1500);

    // A slow-starting config, saved and settled while it boots.
    writeConfig(config, { version: 'v2', listenDelayMs: 3000 });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    await sleep(1700);
    // Half a save (an early change, which waits for its verdict), a reload meanwhile: the
    // reload's instance reads the half-written file and fails.
    writeText(config, '{"version": ');
    await baton.waitFor((e) => e.type === 'change' && e.early === true && baton.events.filter((c) => c.type === 'change').length === 2);
    baton.child.kill('SIGHUP');
    await baton.waitFor((e) => e.type === 'rejected' && e.gen === 3);
    // The save is undone: the files are the settled ones again, so no change follows.
    writeConfig(config, { version: 'v2', listenDelayMs: 3000 });

    const served = await baton.waitFor((e) => e.type === 'serving' && e.gen !== 1, { timeoutMs: 20_000 });
    expect(served.gen).toBe(4);
    expect((await getJson(url)).version).toBe('v2');
  });

  it('a file rewritten with the bytes it had while an instance is starting never cuts it short', async () => {
    const dir = h.tmp.file('conf');
    mkdirSync(dir);
    const config = `${dir}/gateway.json`;
    const other = `${dir}/other.json`;
    writeConfig(config, { version: 'v1' });
    writeText(other, 'stable');
    const baton = BatonProcess.start(['-p', '0', '--debounce', '300', '-w', dir, '--', 'node', FIXTURE, config]);
    h.baton = baton;
    const url = await baton.url();
    await baton.serving(1);

    writeConfig(config, { version: 'v2', listenDelayMs: 2000 });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    await sleep(500);
    // The early look reads it empty; by the debounce's end it is what it was.
    writeText(other, '');
    await baton.waitFor((e) => e.type === 'change' && e.early === true && baton.events.filter((c) => c.type === 'change').length === 2);
    writeText(other, 'stable');

    await baton.serving(2);
    expect((await getJson(url)).version).toBe('v2');
    expect(baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
    expect(baton.events.some((e) => e.type === 'abandoned')).toBe(false);
  });
});
