import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, FIXTURE } from './helpers/baton-process.js';
import { tempDir, writeConfig } from './helpers/files.js';

// `baton compare` ("is my new config faster?") and `baton bench reload` ("does baton drop
// anything on my gateway?") ship in the package. Bad input gets one line naming the
// problem and exit code 2; real runs measure the fixture gateway and write their reports.

function baton(args: string[], cwd: string): { status: number | null; stderr: string; stdout: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 90_000 });
  return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

describe('baton compare', () => {
  const tmp = tempDir();
  writeConfig(tmp.file('a.json'), { version: 'a' });
  writeConfig(tmp.file('b.json'), { version: 'b' });

  it.each([
    [['--b', 'b.json', '--', 'node', FIXTURE, '{config}'], 'baton: --a is missing — baton compare --a <config> --b <config> [options] -- <gateway command with {config}>'],
    [['--a', 'nope.json', '--b', 'b.json', '--', 'node', FIXTURE, '{config}'], 'baton: --a: no such file: nope.json — give the path of config A'],
    [['--a', 'a.json', '--b', 'b.json'], 'baton: no gateway command after --'],
    [['--a', 'a.json', '--b', 'b.json', '--', 'node', FIXTURE, 'a.json'], 'baton: the gateway command has no {config}, so A and B would run the same config'],
    [['--a', 'a.json', '--b', 'b.json', '--', 'no-such-gateway', '{config}'], 'baton: gateway program not found: no-such-gateway'],
    [['--a', 'a.json', '--b', 'b.json', '--pairs', '0', '--', 'node', '{config}'], 'baton: --pairs must be a whole number of at least 1, not 0'],
    [['--a', 'a.json', '--b', 'b.json', '--pair', '3', '--', 'node', '{config}'], "baton: unknown option '--pair' — did you mean --pairs?"],
    [['--a', 'a.json', '--b', 'b.json', '--path', 'health', '--', 'node', '{config}'], 'baton: --path must start with /, not health'],
  ])('%j is refused with one line and exit code 2', (args, message) => {
    const run = baton(['compare', ...args], tmp.dir);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(message);
  });

  it('--help says how to call it and what the exit codes mean', () => {
    const run = baton(['compare', '--help'], tmp.dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: baton compare --a <config> --b <config> \[options\] -- <gateway command with \{config\}>/);
    expect(run.stdout).toContain('Exit codes: 0 compared');
  });

  it('a config the gateway refuses ends the run with its reason and the gateway output, exit code 1', () => {
    writeConfig(tmp.file('broken.json'), { version: 'b', exitAtStart: { code: 3, message: 'ERROR parsing the configuration file: b is broken' } });
    const run = baton(['compare', '--a', 'a.json', '--b', 'broken.json', '--pairs', '1', '--seconds', '1', '--', 'node', FIXTURE, '{config}'], tmp.dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('baton: config B (broken.json): the gateway exited (3) before answering GET /');
    expect(run.stderr).toContain('ERROR parsing the configuration file: b is broken');
  });

  it('compares two configs under the same load, warns that one pair has no spread, and writes markdown, JSON, SVG and HTML', () => {
    const out = tmp.file('report');
    const run = baton(['compare', '--a', 'a.json', '--b', 'b.json', '--pairs', '1', '--seconds', '1', '--connections', '4', '--out', out, '--', 'node', FIXTURE, '{config}'], tmp.dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning: --pairs 1 gives one ratio and no spread');
    expect(run.stdout).toContain('| A req/s | B req/s | B/A throughput (mean) |');
    const result = JSON.parse(readFileSync(path.join(out, 'compare.json'), 'utf8')) as {
      rounds: Array<{ side: string; requests: number; errors: number }>;
      summary: { ratio: number; errors: number };
    };
    // One ABBA pair: A then B, each round served requests and nothing failed.
    expect(result.rounds.map((r) => r.side)).toEqual(['a', 'b']);
    expect(result.rounds.every((r) => r.requests > 0)).toBe(true);
    expect(result.summary.errors).toBe(0);
    expect(result.summary.ratio).toBeGreaterThan(0);
    expect(readFileSync(path.join(out, 'compare.md'), 'utf8')).toContain('B/A throughput');
    expect(readFileSync(path.join(out, 'compare.svg'), 'utf8')).toMatch(/^<svg /);
    const html = readFileSync(path.join(out, 'compare.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg ');
    expect(html).not.toMatch(/<script|(src|href)="https?:/);
  });
});

describe('baton bench reload', () => {
  const tmp = tempDir();

  it.each([
    [['--', 'no-such-gateway'], 'baton: gateway program not found: no-such-gateway'],
    [[], 'baton: no gateway command after --'],
    [['--reloads', 'x', '--', 'node', FIXTURE], 'baton: --reloads must be a whole number of at least 1, not x'],
    [['--port', '9000', '--', 'node', FIXTURE], 'baton: --port is the bench’s to choose'],
    [['--debounc', '5', '--', 'node', FIXTURE], "baton: unknown option '--debounc'"],
    [['--trigger', 'save', '--', 'node', FIXTURE, 'gateway.json'], 'baton: --trigger save needs a config file named in the command with -c or --config'],
  ])('%j is refused with one line and exit code 2', (args, message) => {
    const run = baton(['bench', 'reload', ...args], tmp.dir);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(message);
  });

  it('reloads a real gateway under keep-alive load by saving its config: nothing dropped, the config put back, a report written', () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    const before = readFileSync(config);
    const out = tmp.file('report');
    // `-c gateway.json` makes it baton's watched config, and the file the bench saves.
    const run = baton(['bench', 'reload', '--reloads', '3', '--clients', '4', '--gap', '200', '--debounce', '20', '--out', out, '--', 'node', FIXTURE, config, '-c', config], tmp.dir);
    expect(run.status, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('3 reloads by saving');
    const result = JSON.parse(readFileSync(path.join(out, 'reload-bench.json'), 'utf8')) as { failed: number; answered: number; rows: Array<{ gen: number; toServeMs: number }>; options: { trigger: string } };
    expect(result.options.trigger).toBe('save');
    expect(result.failed).toBe(0);
    expect(result.answered).toBeGreaterThan(0);
    expect(result.rows.map((r) => r.gen)).toEqual([2, 3, 4]);
    expect(result.rows.every((r) => r.toServeMs > 0)).toBe(true);
    expect(readFileSync(config)).toEqual(before);
  });

  it('without a config file in the command it reloads by SIGHUP', () => {
    const config = tmp.file('plain.json');
    writeConfig(config, { version: 'v1' });
    const run = baton(['bench', 'reload', '--reloads', '2', '--clients', '2', '--gap', '100', '--json', '--', 'node', FIXTURE, config], tmp.dir);
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { failed: number; options: { trigger: string }; rows: Array<{ gen: number }> };
    expect(result.options.trigger).toBe('signal');
    expect(result.failed).toBe(0);
    expect(result.rows.map((r) => r.gen)).toEqual([2, 3]);
  });
});
