import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE, ROOT } from './helpers/baton-process.js';
import { tempDir, writeConfig } from './helpers/files.js';

// bench/compare.mjs is the user-facing A/B tool ("is my new config faster?"): bad input
// gets one line naming the problem and exit code 2, and a real run compares both configs.
const COMPARE = path.join(ROOT, 'bench/compare.mjs');
const A = path.join(ROOT, 'bench/configs/caddy-a.Caddyfile');
const B = path.join(ROOT, 'bench/configs/caddy-b.Caddyfile');

function compare(args: string[], cwd = ROOT): { status: number | null; stderr: string; stdout: string } {
  const run = spawnSync(process.execPath, [COMPARE, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

describe('bench/compare.mjs', () => {
  it.each([
    [['--b', B, '--', 'caddy', 'run', '--config', '{config}'], 'compare: --a is missing'],
    [['--a', 'nope.Caddyfile', '--b', B, '--', 'caddy', 'run', '--config', '{config}'], 'compare: --a: no such file: nope.Caddyfile — give the path of config A'],
    [['--a', A, '--b', B], 'compare: no gateway command (it goes after --)'],
    [['--a', A, '--b', B, '--', 'caddy', 'run', '--config', 'Caddyfile'], 'compare: the gateway command has no {config}, so A and B would run the same config'],
    [['--a', A, '--b', B, '--', 'no-such-gateway', '{config}'], 'compare: gateway program not found: no-such-gateway'],
    [['--a', A, '--b', B, '--pairs', '0', '--', 'caddy', '{config}'], 'compare: --pairs must be a whole number of at least 1, not 0'],
    [['--a', A, '--b', B, '--pair', '3', '--', 'caddy', '{config}'], 'compare: unknown option --pair'],
    [['--a', A, '--b', B, '--path', 'health', '--', 'caddy', '{config}'], 'compare: --path must start with /, not health'],
  ])('%j is refused with one line and exit code 2', (args, message) => {
    const run = compare(args);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(message);
  });

  it('a config the gateway refuses ends the run with its reason and the gateway output, exit code 1', () => {
    const tmp = tempDir();
    try {
      writeConfig(tmp.file('a.json'), { version: 'a' });
      writeConfig(tmp.file('b.json'), { version: 'b', exitAtStart: { code: 3, message: 'ERROR parsing the configuration file: b is broken' } });
      const run = compare(['--a', 'a.json', '--b', 'b.json', '--pairs', '1', '--seconds', '1', '--', 'node', FIXTURE, '{config}'], tmp.dir);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('compare: config B (b.json): the gateway exited (3) before answering GET /');
      expect(run.stderr).toContain('ERROR parsing the configuration file: b is broken');
    } finally {
      tmp.remove();
    }
  });

  it('compares two configs of a real gateway under the same load and writes the result', () => {
    const tmp = tempDir();
    try {
      writeConfig(tmp.file('a.json'), { version: 'a' });
      writeConfig(tmp.file('b.json'), { version: 'b' });
      const name = `compare-test-${process.pid}`;
      const run = compare(['--a', 'a.json', '--b', 'b.json', '--pairs', '1', '--seconds', '1', '--connections', '4', '--name', name, '--', 'node', FIXTURE, '{config}'], tmp.dir);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain('| A req/s | B req/s | B/A throughput (mean) |');
      const result = JSON.parse(readFileSync(path.join(ROOT, 'bench/results', `${name}.json`), 'utf8')) as {
        rounds: Array<{ side: string; requests: number; errors: number }>;
        summary: { ratio: number; errors: number };
      };
      // One ABBA pair: A then B, each round served requests and nothing failed.
      expect(result.rounds.map((r) => r.side)).toEqual(['a', 'b']);
      expect(result.rounds.every((r) => r.requests > 0)).toBe(true);
      expect(result.summary.errors).toBe(0);
      expect(result.summary.ratio).toBeGreaterThan(0);
    } finally {
      tmp.remove();
      for (const ext of ['json', 'svg']) rmSync(path.join(ROOT, 'bench/results', `compare-test-${process.pid}.${ext}`), { force: true });
    }
  });
});
