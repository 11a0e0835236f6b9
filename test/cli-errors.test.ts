import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE } from './helpers/baton-process.js';
import { tempDir, writeConfig } from './helpers/files.js';

let tmp: ReturnType<typeof tempDir>;
let config: string;

beforeAll(() => {
  tmp = tempDir();
  config = tmp.file('gateway.json');
  writeConfig(config, { version: 'v1' });
  writeFileSync(tmp.file('run.sh'), '#!/bin/sh\nexec node "$@"\n', { mode: 0o644 });
});
afterAll(() => tmp.remove());

/** Runs the CLI to completion; returns its exit code, stderr, and whether any gateway was started. */
async function run(args: string[]): Promise<{ code: number | null; stderr: string; started: boolean }> {
  const baton = BatonProcess.raw(['--json', ...args]);
  const timer = setTimeout(() => baton.child.kill('SIGKILL'), 20_000);
  const exit = await baton.exited;
  clearTimeout(timer);
  await baton.kill();
  return { code: exit.code, stderr: baton.stderr, started: baton.gatewayPids().length > 0 };
}

const gateway = () => ['--', 'node', FIXTURE, config];

/** Each bad input: one line on stderr naming the problem and the fix, the right exit code, nothing started. */
const cases: Array<{ name: string; args: () => string[]; code: number; message: RegExp }> = [
  { name: 'nothing after --', args: () => ['-p', '0', '--'], code: 2, message: /^baton: no gateway command after -- — put the command after --/ },
  { name: 'no -- at all', args: () => ['-p', '0'], code: 2, message: /^baton: no gateway command given — put the command after --/ },
  { name: 'arguments before --', args: () => ['node', 'server.js'], code: 2, message: /^baton: unexpected arguments before -- — put the gateway command after --/ },
  { name: 'unknown flag', args: () => ['--bogus', ...gateway()], code: 2, message: /^baton: unknown option '--bogus' — run baton --help/ },
  { name: 'flag missing its value', args: () => ['-p', ...gateway().slice(0, 0)], code: 2, message: /^baton: option '-p, --port <n>' argument missing/ },
  { name: 'non-numeric port', args: () => ['--port', 'abc', ...gateway()], code: 2, message: /^baton: --port must be a whole number >= 0, got "abc" — e\.g\. --port 8080/ },
  { name: 'negative port', args: () => ['--port', '-5', ...gateway()], code: 2, message: /^baton: --port must be a whole number >= 0, got "-5"/ },
  { name: 'port out of range', args: () => ['--port', '70000', ...gateway()], code: 2, message: /^baton: --port must be a whole number from 0 to 65535, got 70000/ },
  { name: 'non-numeric timeout', args: () => ['--ready-timeout', 'soon', ...gateway()], code: 2, message: /^baton: --ready-timeout must be a whole number >= 0, got "soon"/ },
  { name: 'negative timeout', args: () => ['--drain-timeout', '-1', ...gateway()], code: 2, message: /^baton: --drain-timeout must be a whole number >= 0, got "-1"/ },
  { name: 'zero ready timeout', args: () => ['--ready-timeout', '0', ...gateway()], code: 2, message: /^baton: --ready-timeout must be a whole number of milliseconds from 1 to 2147483647, got 0/ },
  { name: 'timeout beyond what timers can wait', args: () => ['--stop-timeout', '9999999999', ...gateway()], code: 2, message: /^baton: --stop-timeout must be a whole number of milliseconds from 0 to 2147483647, got 9999999999/ },
  { name: 'misspelt flag', args: () => ['--jsn', ...gateway()], code: 2, message: /^baton: unknown option '--jsn' — did you mean --json\? Run baton --help/ },
  { name: 'fractional debounce', args: () => ['--debounce', '1.5', ...gateway()], code: 2, message: /^baton: --debounce must be a whole number >= 0, got "1.5"/ },
  { name: 'health not a path', args: () => ['-p', '0', '--health', 'health', ...gateway()], code: 2, message: /^baton: --health must be a path starting with \/, got "health"/ },
  {
    name: 'watch path that does not exist',
    args: () => ['-p', '0', '-w', tmp.file('missing.json'), ...gateway()],
    code: 2,
    message: /^baton: watch path does not exist: .*missing\.json — create it, or point --watch/,
  },
  {
    name: 'config file named in the command that does not exist',
    args: () => ['-p', '0', '--', 'node', FIXTURE, '-c', tmp.file('nope.json')],
    code: 2,
    message: /^baton: the config file the gateway command names does not exist: .*nope\.json — create it, or fix the path after -c\/--config in the command/,
  },
  {
    name: 'a gateway script that exists but is not executable',
    args: () => ['-p', '0', '-w', config, '--', tmp.file('run.sh')],
    code: 2,
    message: /^baton: gateway program is not executable: .*run\.sh — make it executable \(chmod \+x .*run\.sh\), or run it through its interpreter/,
  },
  { name: 'gateway program not found', args: () => ['-p', '0', '-w', config, '--', 'no-such-gateway-xyz', 'run'], code: 2, message: /^baton: gateway program not found: no-such-gateway-xyz — install it, put it on PATH/ },
  { name: 'gateway path not found', args: () => ['-p', '0', '-w', config, '--', './bin/nope', 'run'], code: 2, message: /^baton: gateway program not found: \.\/bin\/nope/ },
  {
    name: '--check program not found',
    args: () => ['-p', '0', '-w', config, '--check', 'no-such-checker-xyz -c x', ...gateway()],
    code: 2,
    message: /^baton: --check program not found: no-such-checker-xyz — install it, put it on PATH, or fix the --check command/,
  },
];

describe('bad input', () => {
  for (const c of cases) {
    it(`${c.name}: exit ${c.code}, one clear line, nothing started`, async () => {
      const result = await run(c.args());
      expect(result.code).toBe(c.code);
      expect(result.stderr).toMatch(c.message);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.started).toBe(false);
    });
  }

  it('public port in use: exit 1, names the port, no gateway started', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await run(['-p', String(port), '-w', config, ...gateway()]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^baton: port ${port} on 127\\.0\\.0\\.1 is already in use — stop the process holding it or choose another with --port`));
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.started).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('--help and --version exit 0 and print to stdout', async () => {
    const help = BatonProcess.raw(['--help']);
    expect((await help.exited).code).toBe(0);
    expect(help.stdout).toMatch(/Usage: baton \[options\] -- <gateway command\.\.\.>/);
    const version = BatonProcess.raw(['--version']);
    expect((await version.exited).code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
