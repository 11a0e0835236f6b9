import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, FIXTURE, isAlive } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { startFixture, useHarness } from './helpers/harness.js';

const h = useHarness();

// What a watched folder holds besides the gateway's config: files git ignores, baton's own
// log, and files something keeps rewriting. None may start a reload storm.
describe('no reload storm', () => {
  it('a watched folder respects .gitignore: its own, the repository root’s, and negations', async () => {
    const repo = h.tmp.file('repo');
    const dir = `${repo}/conf`;
    mkdirSync(`${repo}/.git`, { recursive: true });
    mkdirSync(`${dir}/logs`, { recursive: true });
    writeFileSync(`${repo}/.gitignore`, '*.log\n');
    writeFileSync(`${dir}/.gitignore`, '*.out\n!keep.out\nlogs/\n');
    const config = `${dir}/gateway.json`;
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, [], { watch: [dir] });
    await h.baton.serving(1);

    for (const name of ['a.out', 'logs/today.json', 'gateway.log']) writeFileSync(`${dir}/${name}`, `noise ${Date.now()}`);
    writeFileSync(`${dir}/.gitignore`, '*.out\n!keep.out\nlogs/\n# edited\n');
    await sleep(400);
    expect(h.baton.events.filter((e) => e.type === 'change')).toEqual([]);

    writeFileSync(`${dir}/keep.out`, 'kept: watched, though *.out is ignored');
    await h.baton.serving(2);
    expect(h.baton.events.filter((e) => e.type === 'change').map((e) => e.files)).toEqual([[`${dir}/keep.out`]]);
  });

  it('--no-gitignore watches what .gitignore ignores', async () => {
    const dir = h.tmp.file('conf');
    mkdirSync(dir);
    writeFileSync(`${dir}/.gitignore`, '*.out\n');
    const config = `${dir}/gateway.json`;
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, ['--no-gitignore'], { watch: [dir] });
    await h.baton.serving(1);
    writeFileSync(`${dir}/a.out`, 'now watched');
    await h.baton.serving(2);
  });

  it('baton’s own output redirected into the watched folder (`> baton.log`) never reloads', async () => {
    const dir = h.tmp.dir;
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', chatter: { lines: 5, bytes: 20 } });
    const log = h.tmp.file('baton.log');
    // As a user runs it: no --watch, so the working folder is watched, and stdout goes to a file in it.
    const shell = spawn('sh', ['-c', `exec "${process.execPath}" "${CLI}" --json -p 0 --debounce 20 -- node "${FIXTURE}" gateway.json > baton.log 2>&1`], { cwd: dir, stdio: 'ignore' });
    const read = (): string => {
      try {
        return readFileSync(log, 'utf8');
      } catch {
        return ''; // the shell has not created it yet
      }
    };
    const events = (): Array<{ type: string; gen?: number }> =>
      read()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; gen?: number });
    try {
      for (let i = 0; i < 200 && !events().some((e) => e.type === 'serving'); i++) await sleep(50);
      expect(events().some((e) => e.type === 'serving' && e.gen === 1)).toBe(true);
      await sleep(600);
      expect(events().filter((e) => e.type === 'starting')).toHaveLength(1);
      writeConfig(config, { version: 'v2' });
      for (let i = 0; i < 200 && !events().some((e) => e.type === 'serving' && e.gen === 2); i++) await sleep(50);
      await sleep(300);
      expect(events().filter((e) => e.type === 'starting').map((e) => e.gen)).toEqual([1, 2]);
    } finally {
      shell.kill('SIGTERM');
      await new Promise((resolve) => shell.once('exit', resolve));
    }
    expect(isAlive(shell.pid!)).toBe(false);
  });

  it('a file rewritten at every start is named once, with the --ignore to add, dropped, and baton serves', async () => {
    const dir = h.tmp.file('conf');
    mkdirSync(dir);
    const config = `${dir}/gateway.json`;
    // Each instance renders out.json at start with the time in it: every start changes it.
    writeConfig(config, { version: 'v1', writeFile: { path: `${dir}/out.json`, content: '{time}' } });
    h.baton = startFixture(config, [], { watch: [dir], cwd: dir });
    const storm = await h.baton.waitFor((e) => e.type === 'warning' && /out\.json/.test(e.message as string), { timeoutMs: 30_000 });
    expect(storm.message).toMatch(/^out\.json changed 5 times in 10 s, each time while a new generation was starting: .* add --ignore out\.json \(or a line in \.gitignore\)$/);
    const served = await h.baton.waitFor((e) => e.type === 'serving', { from: h.baton.events.indexOf(storm), timeoutMs: 30_000 });
    const startedSoFar = h.baton.events.filter((e) => e.type === 'starting').length;
    await sleep(800);
    // Calm: nothing starts any more, and the one warning was the only one.
    expect(h.baton.events.filter((e) => e.type === 'starting')).toHaveLength(startedSoFar);
    expect(h.baton.events.filter((e) => e.type === 'warning')).toHaveLength(1);
    expect(served.gen).toBe(startedSoFar);
    // A real edit in the folder still reloads.
    writeConfig(config, { version: 'v2', writeFile: { path: `${dir}/out.json`, content: '{time}' } });
    await h.baton.serving(startedSoFar + 1);
  });
});
