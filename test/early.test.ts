import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE } from './helpers/baton-process.js';
import { sleep, writeConfig, writeText } from './helpers/files.js';
import { getJson, waitForVersion } from './helpers/http.js';
import { useHarness } from './helpers/harness.js';

const h = useHarness();

/**
 * The fixture behind baton serving v1 as generation 1, with a long debounce so the
 * window it opens is unmistakable. `folder`: baton watches a folder holding the config
 * and `other.json` (content `stable`), a file the gateway does not read.
 */
async function servingV1(debounceMs: number, { folder = false } = {}): Promise<{ config: string; other: string; url: string; baton: BatonProcess }> {
  const dir = folder ? h.tmp.file('conf') : h.tmp.dir;
  if (folder) mkdirSync(dir);
  const config = `${dir}/gateway.json`;
  const other = `${dir}/other.json`;
  writeConfig(config, { version: 'v1' });
  if (folder) writeText(other, 'stable');
  const baton = BatonProcess.start(['-p', '0', '--debounce', String(debounceMs), '-w', folder ? dir : config, '--', 'node', FIXTURE, config]);
  h.baton = baton;
  const url = await baton.url();
  await baton.serving(1);
  return { config, other, url, baton };
}

/** v2 is served, by generation 2: only two instances were ever started and none was abandoned. */
async function servedByGen2Alone(url: string, baton: BatonProcess): Promise<void> {
  expect((await getJson(url)).version).toBe('v2');
  expect(baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
  expect(baton.events.some((e) => e.type === 'abandoned')).toBe(false);
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
    await servedByGen2Alone(url, baton);
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
    const { config, other, url, baton } = await servingV1(1500, { folder: true });

    writeConfig(config, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    // Truncated, then written back with a pause between (a gateway rendering a file at start).
    writeText(other, '');
    await sleep(100);
    writeText(other, 'stable');

    await baton.serving(2);
    await servedByGen2Alone(url, baton);
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
    const { config, other, url, baton } = await servingV1(300, { folder: true });

    writeConfig(config, { version: 'v2', listenDelayMs: 2000 });
    await baton.waitFor((e) => e.type === 'starting' && e.gen === 2);
    await sleep(500);
    // The early look reads it empty; by the debounce's end it is what it was.
    writeText(other, '');
    await baton.waitFor((e) => e.type === 'change' && e.early === true && baton.events.filter((c) => c.type === 'change').length === 2);
    writeText(other, 'stable');

    await baton.serving(2);
    await servedByGen2Alone(url, baton);
  });
});
