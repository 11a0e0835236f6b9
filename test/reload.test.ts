import { describe, expect, it } from 'vitest';
import { isAlive, type Event } from './helpers/baton-process.js';
import { sleep, writeConfig, writeText } from './helpers/files.js';
import { getJson, waitForVersion } from './helpers/http.js';
import { Load } from './helpers/load.js';
import { DATA_PATHS, startFixture, useHarness } from './helpers/harness.js';

const h = useHarness();

describe('reload under keep-alive load', () => {
  it.each(DATA_PATHS)('drops no request across 12 reloads on the %s (GETs, verified POSTs, requests spanning the switch)', async (_path, pathFlags) => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v0' });
    h.baton = startFixture(config, pathFlags);
    const url = await h.baton.url();
    await h.baton.serving(1);

    const load = new Load(url, { clients: 8, slowClients: 3, slowMs: 400 });
    for (let i = 1; i <= 12; i++) {
      writeConfig(config, { version: `v${i}` });
      await h.baton.serving(i + 1);
      await sleep(120);
    }
    const result = await load.stop();
    await h.baton.waitFor((e) => e.type === 'stopped' && e.gen === 12);

    expect(result.failed, `failures by cause: ${JSON.stringify(result.causes)}`).toBe(0);
    expect(result.postsVerified).toBeGreaterThan(50);
    expect(result.slowOk).toBeGreaterThan(3);
    expect(result.versions).toContain('v12');
    // The test is only worth something if requests really were in flight at switches.
    const drains = h.baton.events.filter((e) => e.type === 'draining');
    expect(drains.length).toBe(12);
    expect(drains.some((e) => (e.inflight as number) > 0)).toBe(true);
    // Every old generation was stopped, none by force.
    const stops = h.baton.events.filter((e) => e.type === 'stopped');
    expect(stops.map((e) => e.gen).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(stops.every((e) => e.forced === false && e.drainTimedOut === false)).toBe(true);
  });

  it('rejects a broken config, keeps the old generation serving, promotes the next good save', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'good-1' });
    h.baton = startFixture(config);
    const url = await h.baton.url();
    await h.baton.serving(1);

    const load = new Load(url, { clients: 6, slowClients: 2, slowMs: 300 });
    writeText(config, '{"version": '); // a half-typed save
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected' && e.gen === 2);
    expect(rejected.serving).toBe(1);
    expect(rejected.reason).toMatch(/exited with code 1 before becoming healthy/);
    expect((rejected.output as string[]).join('\n')).toMatch(/ERROR parsing the configuration file/);
    await sleep(300);
    expect((await getJson(url)).version).toBe('good-1');

    writeConfig(config, { version: 'good-2' });
    await h.baton.serving(3);
    await sleep(200);
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect(result.versions).toEqual(['good-1', 'good-2']);
    expect((await getJson(url)).version).toBe('good-2');
  });

  it('20 saves in quick succession end with the last content served and never more than two gateways alive', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'save-0' });
    h.baton = startFixture(config);
    const url = await h.baton.url();
    await h.baton.serving(1);

    // Sample the real processes while saving, besides the exact accounting from events below.
    let maxSampled = 0;
    const sampler = setInterval(() => {
      maxSampled = Math.max(maxSampled, h.baton!.gatewayPids().filter(isAlive).length);
    }, 2);
    for (let i = 1; i <= 20; i++) {
      writeConfig(config, { version: `save-${i}`, listenDelayMs: 30 });
      await sleep(i % 3 === 0 ? 90 : 15);
    }
    await waitForVersion(url, 'save-20');
    await sleep(200);
    clearInterval(sampler);

    expect(maxSampled).toBeLessThanOrEqual(2);
    expect(maxAliveFromEvents(h.baton.events)).toBeLessThanOrEqual(2);
    expect(h.baton.gatewayPids().filter(isAlive)).toHaveLength(1);
    // Some saves were coalesced or abandoned: fewer generations than saves.
    expect(h.baton.events.filter((e) => e.type === 'starting').length).toBeLessThan(21);
  });

  it('a save that leaves the bytes identical triggers nothing', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'same' });
    h.baton = startFixture(config);
    await h.baton.serving(1);
    writeConfig(config, { version: 'same' });
    writeConfig(config, { version: 'same' });
    // A different save afterwards proves the watcher was live during the identical ones.
    await sleep(300);
    writeConfig(config, { version: 'different' });
    await h.baton.serving(2);
    expect(h.baton.events.filter((e) => e.type === 'change')).toHaveLength(1);
  });
});

/** Largest number of generations started and not yet reported gone, at any event. */
function maxAliveFromEvents(events: Event[]): number {
  const alive = new Set<number>();
  let max = 0;
  for (const e of events) {
    if (e.type === 'starting') alive.add(e.gen!);
    if (['stopped', 'rejected', 'abandoned', 'crashed', 'port-clash'].includes(e.type)) alive.delete(e.gen!);
    max = Math.max(max, alive.size);
  }
  return max;
}
