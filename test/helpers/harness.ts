import { afterEach, beforeEach } from 'vitest';
import { BatonProcess, FIXTURE } from './baton-process.js';
import { tempDir } from './files.js';

/**
 * baton's two data paths: its own fast path (the default) and node:http's
 * (`--no-fast-path`). Suites about what clients and gateways see run on both, so both
 * keep the same behaviour.
 */
export const DATA_PATHS: ReadonlyArray<readonly [name: string, flags: readonly string[]]> = [
  ['fast path', []],
  ['node:http path', ['--no-fast-path']],
];

/** Per-test state: a fresh temp folder, and the baton under test (killed with everything it started). */
export interface Harness {
  tmp: ReturnType<typeof tempDir>;
  baton: BatonProcess | undefined;
}

/** Registers the hooks that give every test a temp folder and tear down its baton. */
export function useHarness(): Harness {
  const harness = {} as Harness;
  beforeEach(() => {
    harness.tmp = tempDir();
    harness.baton = undefined;
  });
  afterEach(async () => {
    await harness.baton?.kill();
    harness.tmp.remove();
  });
  return harness;
}

/**
 * `baton --json -p 0 --debounce 20 <extra> -w <watch> -- node fixture <config>`:
 * the fixture gateway behind a baton on a free port, watching its config unless told otherwise.
 */
export function startFixture(config: string, extra: readonly string[] = [], options: { watch?: readonly string[]; cwd?: string } = {}): BatonProcess {
  const watch = (options.watch ?? [config]).flatMap((path) => ['-w', path]);
  return BatonProcess.start(['-p', '0', '--debounce', '20', ...extra, ...watch, '--', 'node', FIXTURE, config], { cwd: options.cwd });
}
