import { describe, expect, it } from 'vitest';
import { isAlive } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { request } from './helpers/http.js';
import { startFixture, useHarness } from './helpers/harness.js';

const h = useHarness();

describe('shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} finishes in-flight requests, exits 0 and leaves no gateway or grandchild behind`, async () => {
      const config = h.tmp.file('gateway.json');
      writeConfig(config, { version: 'v1', spawnChild: true });
      h.baton = startFixture(config);
      const url = await h.baton.url();
      await h.baton.serving(1);
      await h.baton.waitFor((e) => e.type === 'output' && /^child \d+$/.test(e.line as string));
      const pids = [...h.baton.gatewayPids(), ...h.baton.grandchildPids()];
      expect(pids.every(isAlive)).toBe(true);

      const slow = request(`${url}/slow?ms=500`);
      await sleep(100);
      const exit = await h.baton.stop(signal);
      expect(exit.code).toBe(0);
      const reply = await slow;
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('slow v1\n');
      expect(pids.filter(isAlive)).toEqual([]);
    });
  }

  it('a second signal stops at once, killing a gateway that ignores SIGTERM', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', ignoreSigterm: true });
    h.baton = startFixture(config, ['--stop-timeout', '600000']);
    await h.baton.serving(1);
    h.baton.child.kill('SIGTERM');
    await h.baton.waitFor((e) => e.type === 'output' && e.line === 'ignoring SIGTERM');
    h.baton.child.kill('SIGTERM');
    const exit = await h.baton.exited;
    expect(exit.code).toBe(1);
    expect(h.baton.gatewayPids().filter(isAlive)).toEqual([]);
    // It says what it killed.
    const killed = h.baton.events.find((e) => e.type === 'killed');
    expect(killed?.processes).toEqual([{ gen: 1, pid: h.baton.gatewayPids()[0] }]);
  });

  it('SIGTERM while the first instance is still starting exits 0 with nothing left', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', listenDelayMs: 5000 });
    h.baton = startFixture(config);
    await h.baton.waitFor((e) => e.type === 'starting');
    const exit = await h.baton.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(h.baton.gatewayPids().filter(isAlive)).toEqual([]);
  });

  it('a gateway that ignores SIGTERM is killed after --stop-timeout when it retires', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', ignoreSigterm: true });
    h.baton = startFixture(config, ['--stop-timeout', '200', '--debounce', '20']);
    await h.baton.serving(1);
    const first = h.baton.gatewayPids()[0]!;
    writeConfig(config, { version: 'v2', ignoreSigterm: true });
    const stopped = await h.baton.waitFor((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped.forced).toBe(true);
    expect(isAlive(first)).toBe(false);
  });
});
