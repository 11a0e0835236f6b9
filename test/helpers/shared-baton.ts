import { afterAll, beforeAll, expect } from 'vitest';
import { BatonProcess, FIXTURE } from './baton-process.js';
import { tempDir, writeConfig } from './files.js';

/** One baton in front of the fixture gateway, shared by the tests of a raw-socket suite. */
export interface SharedBaton {
  baton: BatonProcess;
  url: string;
  port: number;
  /** The generation serving now; `v<generation>` is the version it reports. */
  generation: number;
  /**
   * The leak check: a reload must drain the old generation to zero without hitting
   * --drain-timeout (20 s here). A request or socket left counted would hold it.
   */
  reloadDrainsCleanly(): Promise<void>;
}

/**
 * Registers the hooks that start `baton -p 0 <pathFlags> --debounce 20 --drain-timeout 20000`
 * in front of the fixture before the suite's tests, and kill it after them.
 */
export function useSharedBaton(pathFlags: readonly string[]): SharedBaton {
  let tmp: ReturnType<typeof tempDir>;
  let config: string;
  const shared = { generation: 1 } as SharedBaton;
  beforeAll(async () => {
    tmp = tempDir();
    config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    shared.baton = BatonProcess.start(['-p', '0', ...pathFlags, '--debounce', '20', '--drain-timeout', '20000', '-w', config, '--', 'node', FIXTURE, config]);
    shared.url = await shared.baton.url();
    shared.port = Number(new URL(shared.url).port);
    await shared.baton.serving(1);
  });
  afterAll(async () => {
    await shared.baton.kill();
    tmp.remove();
  });
  shared.reloadDrainsCleanly = async () => {
    const gen = ++shared.generation;
    writeConfig(config, { version: `v${gen}` });
    await shared.baton.serving(gen);
    const stopped = await shared.baton.waitFor((e) => e.type === 'stopped' && e.gen === gen - 1, { timeoutMs: 15_000 });
    expect(stopped.drainTimedOut).toBe(false);
  };
  return shared;
}
