import { describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE, isAlive } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { startFixture, useHarness } from './helpers/harness.js';
import { parentOf, processesWith } from './helpers/procs.js';

const lifelines = (): number[] => processesWith('baton-lifeline');
const standbys = (): number[] => processesWith('baton-standby');

const h = useHarness();

/** Polls until `ok()` holds, or 10 s have passed. */
async function waitUntil(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await sleep(50);
  expect(ok()).toBe(true);
}

/** Polls until none of `pids` is alive, or 10 s have passed; returns those still alive. */
async function survivors(pids: readonly number[]): Promise<number[]> {
  for (let i = 0; i < 200 && pids.some(isAlive); i++) await sleep(50);
  return pids.filter(isAlive);
}

// baton's lifeline (src/lifecycle/lifeline.ts): a watchdog that stops every gateway group
// when baton dies without running any code. A grandchild that ignores SIGTERM must be
// SIGKILLed by it too.
describe('no orphan when baton dies hard', () => {
  it('kill -9 of baton stops the gateway, its grandchild that ignores SIGTERM, and a second generation', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', spawnChild: true });
    h.baton = startFixture(config);
    await h.baton.serving(1);
    writeConfig(config, { version: 'v2', spawnChild: true, ignoreSigterm: true });
    await h.baton.serving(2);
    await h.baton.waitFor((e) => e.type === 'output' && e.gen === 2 && /^child \d+$/.test(e.line as string));
    // The shell waiting to become the next instance (lifecycle/standby.ts) is stopped too.
    await waitUntil(() => standbys().some((pid) => parentOf(pid) === h.baton!.child.pid));
    const standby = standbys().filter((pid) => parentOf(pid) === h.baton!.child.pid);
    const pids = [...h.baton.gatewayPids(), ...h.baton.grandchildPids(), ...standby].filter(isAlive);
    expect(pids.length).toBeGreaterThanOrEqual(3);

    h.baton.child.kill('SIGKILL');
    await h.baton.exited;
    expect(await survivors(pids)).toEqual([]);
  });

  it('kill -9 of baton’s whole process group (an IDE stopping a task hard) stops the gateway too', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', spawnChild: true });
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '-w', config, '--', 'node', FIXTURE, config], { detached: true });
    await h.baton.serving(1);
    await h.baton.waitFor((e) => e.type === 'output' && /^child \d+$/.test(e.line as string));
    const pids = [...h.baton.gatewayPids(), ...h.baton.grandchildPids()];
    expect(pids.every(isAlive)).toBe(true);

    process.kill(-h.baton.child.pid!, 'SIGKILL');
    await h.baton.exited;
    expect(await survivors(pids)).toEqual([]);
  });

  it('a clean shutdown leaves no watchdog behind either', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '-w', config, '--', 'node', FIXTURE, config], { detached: true });
    await h.baton.serving(1);
    const own = lifelines().filter((pid) => parentOf(pid) === h.baton!.child.pid);
    expect(own).toHaveLength(1);
    await waitUntil(() => standbys().some((pid) => parentOf(pid) === h.baton!.child.pid));
    const standby = standbys().filter((pid) => parentOf(pid) === h.baton!.child.pid);
    expect(standby).toHaveLength(1);
    expect((await h.baton.stop('SIGTERM')).code).toBe(0);
    // The watchdog runs in a group of its own; it ends when its pipe closes with baton. The standby is discarded.
    expect(await survivors([...own, ...standby])).toEqual([]);
  });
});
