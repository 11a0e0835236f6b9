import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveOptions } from '../src/options.js';
import { choosePreset } from '../src/presets/index.js';
import { tempDir } from './helpers/files.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

/** Options as resolved for `command` in the temp folder, with no krakend on PATH. */
const resolve = (command: string[], extra: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = { PATH: '' }) =>
  resolveOptions({ command, cwd: tmp.dir, env, ...extra });

describe('preset detection', () => {
  it.each([
    [['krakend', 'run', '-c', 'k.json'], 'krakend'],
    [['/usr/bin/krakend', 'run'], 'krakend'],
    [['npx', 'krakend', 'run'], 'krakend'],
    [['docker', 'run', '--rm', '-p', '{port}:8080', '-v', '/x:/etc/krakend', 'devopsfaith/krakend:2.6', 'run', '-c', 'krakend.json'], 'krakend'],
    [['docker', 'run', '--name', 'krakend', 'nginx'], undefined],
    [['caddy', 'run', '--config', 'Caddyfile'], 'caddy'],
    [['caddy', 'start'], undefined],
    [['node', 'server.js'], undefined],
  ])('%j → %s', (command, name) => {
    expect(choosePreset('auto', command)?.name).toBe(name);
  });
  it('--preset none turns detection off; a named preset is forced', () => {
    expect(choosePreset('none', ['krakend', 'run'])).toBeUndefined();
    expect(choosePreset('krakend', ['/opt/kd/gateway-ee', 'run'])?.name).toBe('krakend');
  });
});

describe('KrakenD preset', () => {
  it('adds -p {port}, health /__health, krakend check, and watches the config', () => {
    writeFileSync(tmp.file('krakend.json'), '{"version": 3}');
    const options = resolve(['krakend', 'run', '-c', 'krakend.json']);
    expect(options.preset).toBe('krakend');
    expect(options.command).toEqual(['krakend', 'run', '-c', 'krakend.json', '-p', '{port}']);
    expect(options.health).toBe('/__health');
    expect(options.check).toBe('krakend check -c krakend.json');
    expect(options.watch).toEqual([tmp.file('krakend.json')]);
  });

  it('leaves an explicit port flag alone and reads a custom health_path', () => {
    writeFileSync(tmp.file('krakend.json'), JSON.stringify({ version: 3, extra_config: { router: { health_path: '/ping' } } }));
    const options = resolve(['krakend', 'run', '--config=krakend.json', '--port', '{port}']);
    expect(options.command).toEqual(['krakend', 'run', '--config=krakend.json', '--port', '{port}']);
    expect(options.health).toBe('/ping');
  });

  it('with Flexible Configuration watches the FC folders and ignores FC_OUT', () => {
    const env = { PATH: '', FC_ENABLE: '1', FC_SETTINGS: 'settings', FC_PARTIALS: 'partials', FC_TEMPLATES: 'templates', FC_OUT: 'out.json' };
    const options = resolve(['krakend', 'run', '-c', 'krakend.tmpl'], {}, env);
    expect(options.watch).toEqual(['krakend.tmpl', 'settings', 'partials', 'templates'].map((p) => tmp.file(p)));
    expect(options.ignore).toEqual([tmp.file('out.json')]);
    expect(options.health).toBe('/__health');
  });

  it('in docker run: no -p rewrite, no check, watches the folder mounted at /etc/krakend', () => {
    const command = ['docker', 'run', '--rm', '-p', '{port}:8080', '-v', `${tmp.dir}/conf:/etc/krakend`, 'devopsfaith/krakend', 'run', '-c', 'krakend.json'];
    const options = resolve(command);
    expect(options.command).toEqual(command);
    expect(options.check).toBeUndefined();
    expect(options.watch).toEqual([`${tmp.dir}/conf`]);
  });

  it('what the user sets wins; --check "" turns the preset check off', () => {
    const options = resolve(['krakend', 'run', '-c', 'k.json'], { health: '/mine', check: '', watch: ['other'] });
    expect(options.health).toBe('/mine');
    expect(options.check).toBeUndefined();
    expect(options.watch).toEqual([tmp.file('other')]);
    expect(options.presetApplied).toEqual(['command: krakend run -c k.json -p {port}']);
  });
});

describe('Caddy preset', () => {
  it('validates with caddy validate and warns when the admin endpoint stays on', () => {
    writeFileSync(tmp.file('Caddyfile'), ':{$PORT} {\n\trespond "hi"\n}\n');
    const options = resolve(['caddy', 'run', '--config', 'Caddyfile', '--adapter', 'caddyfile']);
    expect(options.check).toBe('caddy validate --config Caddyfile --adapter caddyfile');
    expect(options.health).toBe('/');
    expect(options.warnings).toEqual([expect.stringMatching(/^Caddyfile leaves Caddy's admin endpoint on/)]);
  });
  it('is quiet when admin is off', () => {
    writeFileSync(tmp.file('Caddyfile'), '{\n\tadmin off\n}\n:{$PORT} {\n\trespond "hi"\n}\n');
    expect(resolve(['caddy', 'run', '--config', 'Caddyfile']).warnings).toEqual([]);
  });
});
