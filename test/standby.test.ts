import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Standby } from '../src/lifecycle/standby.js';
import { isAlive } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { startFixture, useHarness } from './helpers/harness.js';
import { parentOf, processesWith } from './helpers/procs.js';

// lifecycle/standby.ts: a shell started ahead of time that becomes the next gateway
// instance with one line on its stdin. What it becomes must be exactly what a spawn would
// have started: the same program, arguments, folder and variables, and the same pid and
// process group for baton to stop.

const h = useHarness();

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await sleep(25);
  expect(ok()).toBe(true);
}

describe('a standby', () => {
  it('becomes the program with its arguments, folder and variables exactly, keeping its pid and group', async () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), "baton standby it's ")));
    const standby = new Standby({ PATH: process.env.PATH, KEPT: 'from the start' }, os.tmpdir());
    onTestFinished(() => {
      standby.discard(); // (once it became the program, there is nothing to discard)
      rmSync(dir, { recursive: true, force: true });
    });
    await sleep(50); // a shell that is really waiting on its line
    expect(standby.ready).toBe(true);
    const args = ['-e', 'process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), cwd: process.cwd(), env: [process.env.KEPT, process.env.PORT, process.env.ODD], pid: process.pid, pgid: Number(require("fs").readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")[2]) }))', '--', "it's", 'a b', '$HOME', '`date`', '*', 'é', '', '"quoted"', '\\'];
    const line = standby.line({ file: 'node', args, cwd: dir, env: { PORT: '4321', ODD: "x'y $z" } });
    expect(line).toBeDefined();
    const subprocess = standby.become(line!);
    expect(standby.ready).toBe(false);
    let out = '';
    subprocess.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const result = await subprocess;
    expect(result.exitCode).toBe(0);
    const seen = JSON.parse(out) as { argv: string[]; cwd: string; env: string[]; pid: number; pgid: number };
    expect(seen.argv).toEqual(args.slice(3)); // (node takes the -- itself)
    expect(seen.cwd).toBe(dir);
    expect(seen.env).toEqual(['from the start', '4321', "x'y $z"]);
    expect(seen.pid).toBe(subprocess.pid);
    expect(seen.pgid).toBe(subprocess.pid); // its own group: stopping the group stops the instance
  });

  it('is not used where a spawn would say something else: a program not found, a line break, a name the shell cannot export', () => {
    const standby = new Standby({ PATH: process.env.PATH }, os.tmpdir());
    try {
      expect(standby.line({ file: 'no-such-gateway-here', args: [], cwd: os.tmpdir(), env: {} })).toBeUndefined();
      expect(standby.line({ file: 'node', args: ['-e', 'a\nb'], cwd: os.tmpdir(), env: {} })).toBeUndefined();
      expect(standby.line({ file: 'node', args: [], cwd: os.tmpdir(), env: { 'NOT-A-NAME': 'x' } })).toBeUndefined();
      expect(standby.line({ file: 'node', args: [], cwd: os.tmpdir(), env: { PORT: '1\n2' } })).toBeUndefined();
      expect(standby.line({ file: 'node', args: [], cwd: os.tmpdir(), env: { PORT: '1' } })).toMatch(/exec node$/);
      standby.discard();
      expect(standby.line({ file: 'node', args: [], cwd: os.tmpdir(), env: {} })).toBeUndefined(); // no longer waiting
    } finally {
      standby.discard();
    }
  });

  it('discarded, it exits', async () => {
    const standby = new Standby({ PATH: process.env.PATH }, os.tmpdir());
    await sleep(50);
    const pid = processesWith('baton-standby').find((p) => parentOf(p) === process.pid);
    expect(pid).toBeDefined();
    standby.discard();
    await until(() => !isAlive(pid!));
  });
});

describe('baton keeps one standby for the next save', () => {
  it('the next generation is the standby baton started after the last promotion, and a new one waits after it', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config);
    await h.baton.serving(1);
    const mine = (): number[] => processesWith('baton-standby').filter((pid) => parentOf(pid) === h.baton!.child.pid);
    await until(() => mine().length === 1);
    const [standby] = mine();
    writeConfig(config, { version: 'v2' });
    await h.baton.serving(2);
    const starting = h.baton.events.find((e) => e.type === 'starting' && e.gen === 2)!;
    expect(starting.pid).toBe(standby);
    await until(() => mine().length === 1 && mine()[0] !== standby);
    const next = mine()[0]!;
    expect((await h.baton.stop('SIGTERM')).code).toBe(0);
    await until(() => !isAlive(next)); // discarded at shutdown, not left behind
  });
});
