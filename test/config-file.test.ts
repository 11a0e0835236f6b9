import { writeFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE } from './helpers/baton-process.js';
import { writeConfig } from './helpers/files.js';
import { getJson } from './helpers/http.js';
import { useHarness } from './helpers/harness.js';

const h = useHarness();
beforeEach(() => {
  writeConfig(h.tmp.file('gateway.json'), { version: 'from-file' });
});

function writeBatonConfig(config: unknown, name = 'baton.config.json'): string {
  const file = h.tmp.file(name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

async function runToExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const b = BatonProcess.raw(args, { cwd: h.tmp.dir });
  const exit = await b.exited;
  await b.kill();
  return { code: exit.code, stderr: b.stderr };
}

describe('baton.config.json', () => {
  it('is read from the working folder: options and the gateway command come from it', async () => {
    writeBatonConfig({
      $schema: '../schema/baton.config.schema.json',
      port: 0,
      debounce: 20,
      watch: ['gateway.json'],
      json: true,
      command: ['node', FIXTURE, 'gateway.json'],
    });
    h.baton = BatonProcess.raw([], { cwd: h.tmp.dir });
    const url = await h.baton.url();
    await h.baton.serving(1);
    expect((await getJson(url)).version).toBe('from-file');
    writeConfig(h.tmp.file('gateway.json'), { version: 'changed' });
    await h.baton.serving(2);
  });

  it('edits while baton runs: live keys applied, a new command served, others named as taking a restart, a broken file kept out', async () => {
    writeConfig(h.tmp.file('other.json'), { version: 'other-config' });
    const base = { port: 0, debounce: 20, watch: ['gateway.json'], json: true, command: ['node', FIXTURE, 'gateway.json'] };
    const file = writeBatonConfig(base);
    // --health is a flag: the file cannot change it.
    h.baton = BatonProcess.raw(['--health', '/'], { cwd: h.tmp.dir });
    const url = await h.baton.url();
    await h.baton.serving(1);

    let from = h.baton.events.length;
    writeBatonConfig({ ...base, drainTimeout: 1234, stopTimeout: 777 });
    const applied = await h.baton.waitFor((e) => e.type === 'settings', { from });
    expect(applied).toMatchObject({ file, applied: ['drainTimeout', 'stopTimeout'] });

    from = h.baton.events.length;
    writeBatonConfig({ ...base, drainTimeout: 1234, stopTimeout: 777, command: ['node', FIXTURE, 'other.json'] });
    await h.baton.waitFor((e) => e.type === 'settings' && (e.applied as string[]).includes('command'), { from });
    await h.baton.serving(2);
    expect((await getJson(url)).version).toBe('other-config');

    from = h.baton.events.length;
    writeBatonConfig({ ...base, drainTimeout: 1234, stopTimeout: 777, command: ['node', FIXTURE, 'other.json'], port: 1, health: '/x' });
    const restart = await h.baton.waitFor((e) => e.type === 'warning' && /takes a restart/.test(e.message as string), { from });
    expect(restart.message).toBe('baton.config.json: "port" changed, which takes a restart of baton to apply (Ctrl-C and start it again)');
    const flagWins = await h.baton.waitFor((e) => e.type === 'warning' && /wins over the file/.test(e.message as string), { from });
    expect(flagWins.message).toBe('baton.config.json: "health" changed, but --health on the command line wins over the file');

    from = h.baton.events.length;
    writeBatonConfig('{ "port": 0, ');
    const broken = await h.baton.waitFor((e) => e.type === 'warning' && /not valid JSON/.test(e.message as string), { from });
    expect(broken.message).toMatch(/^baton\.config\.json: config file .*baton\.config\.json is not valid JSON .*; the settings in force stay until the file is fixed$/);
    expect((await getJson(url)).version).toBe('other-config');
    expect(h.baton.events.filter((e) => e.type === 'serving')).toHaveLength(2);
  });

  it('flags win over the file, and a command after -- wins over the file command', async () => {
    writeBatonConfig({ port: 1, health: '/nope', json: false, command: ['no-such-gateway'] });
    h.baton = BatonProcess.raw(['--json', '-p', '0', '--health', '/', '-w', 'gateway.json', '--', 'node', FIXTURE, 'gateway.json'], { cwd: h.tmp.dir });
    const url = await h.baton.url();
    await h.baton.serving(1);
    expect((await getJson(url)).version).toBe('from-file');
  });

  it('runs the experiments from the file: a manual promotion with a preview port and a canary step', async () => {
    writeBatonConfig({ port: 0, debounce: 20, json: true, watch: ['gateway.json'], command: ['node', FIXTURE, 'gateway.json'], promote: 'manual', preview: 0, keepPrevious: 0, canary: '40', canaryInterval: 300 });
    h.baton = BatonProcess.raw([], { cwd: h.tmp.dir });
    const listening = await h.baton.waitFor((e) => e.type === 'listening');
    await h.baton.serving(1);
    writeConfig(h.tmp.file('gateway.json'), { version: 'candidate' });
    await h.baton.waitFor((e) => e.type === 'canary' && e.gen === 2 && e.weight === 40);
    await h.baton.waitFor((e) => e.type === 'analysis' && e.gen === 2);
    // Past its one canary step, it waits for the manual promotion, keeping its share; the preview port reaches it.
    expect((await getJson(listening.preview as string)).version).toBe('candidate');
    const { experiments } = (await getJson(`${listening.admin as string}/api/status`)) as { experiments: Record<string, unknown> };
    expect(experiments).toMatchObject({ waiting: 2, canary: { gen: 2, step: 1, steps: 1, weight: 40 }, preview: listening.preview });
    expect(h.baton.events.filter((e) => e.type === 'serving')).toHaveLength(1);
  });

  it('--config names another file', async () => {
    const file = writeBatonConfig({ port: 0, json: true, watch: ['gateway.json'], command: ['node', FIXTURE, 'gateway.json'] }, 'dev.baton.json');
    h.baton = BatonProcess.raw(['--config', file], { cwd: h.tmp.dir });
    await h.baton.url();
    await h.baton.serving(1);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['a value of the wrong type', { port: 'eighty' }, /^baton: config file .*baton\.config\.json key "port" must be a whole number from 0 to 65535, got "eighty" — see schema\/baton\.config\.schema\.json/],
    ['a number out of range', { readyTimeout: 0 }, /key "readyTimeout" must be a whole number from 1 to 2147483647, got 0/],
    ['a wrong array', { watch: 'gateway.json' }, /key "watch" must be an array of strings, got "gateway.json"/],
    ['an unknown preset', { preset: 'nginx' }, /key "preset" must be one of auto, krakend, caddy, none, got "nginx"/],
    ['an unknown key close to a known one', { prot: 8080 }, /^baton: config file .*baton\.config\.json has an unknown key "prot" — did you mean "port"\? known keys: command, port, host/],
    ['an unknown key near none', { zzzzzzzz: 1 }, /^baton: config file .*baton\.config\.json has an unknown key "zzzzzzzz" — known keys: command, port, host/],
    ['a key in the wrong case', { readytimeout: 5000 }, /has an unknown key "readytimeout" — did you mean "readyTimeout"\?/],
    ['broken JSON', '{ "port": ', /^baton: config file .*baton\.config\.json is not valid JSON \(.+\) — fix the syntax/],
    ['not an object', '[1, 2]', /must hold a JSON object/],
    ['a canary success rate that is not a number', { canarySuccess: 'high' }, /key "canarySuccess" must be a number from 0 to 100, got "high"/],
    ['canary steps as an array', { canary: [10, 50] }, /key "canary" must be a string, got \[10,50\]/],
    ['canary steps that fall', { canary: '50,10' }, /^baton: --canary steps must be rising percentages between 0 and 100, got 50,10 — e\.g\. --canary 10,50/],
    ['a promotion mode that does not exist', { promote: 'later' }, /key "promote" must be one of auto, manual, got "later"/],
  ];
  for (const [name, config, message] of bad) {
    it(`${name}: exit 2 with one line naming the file and key`, async () => {
      writeBatonConfig(config);
      const result = await runToExit(['--', 'node', FIXTURE, 'gateway.json']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    });
  }

  it('--config naming a missing file: exit 2', async () => {
    const result = await runToExit(['--config', 'missing.json', '--', 'node', FIXTURE, 'gateway.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^baton: config file .*missing\.json does not exist — create it or fix --config/);
  });

  it('no command anywhere: exit 2 saying where it looked', async () => {
    writeBatonConfig({ port: 0 });
    const result = await runToExit([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^baton: no gateway command given \(nor a "command" in .*baton\.config\.json\)/);
  });
});
