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
  it('sets no check (caddy run rejects what caddy validate would), and holds the admin endpoint (on by default) as a side port, each instance reading a copy', () => {
    writeFileSync(tmp.file('Caddyfile'), ':{$PORT} {\n\trespond "hi"\n}\n');
    const options = resolve(['caddy', 'run', '--config', 'Caddyfile', '--adapter', 'caddyfile']);
    expect(options.check).toBeUndefined();
    expect(options.health).toBe('/');
    expect(options.warnings).toEqual([]);
    expect(options.sidePorts).toEqual([{ name: 'admin', port: 2019 }]);
    expect(options.rendering?.file).toBe('Caddyfile');
  });

  it('is quiet and renders nothing when admin is off', () => {
    writeFileSync(tmp.file('Caddyfile'), '{\n\tadmin off\n}\n:{$PORT} {\n\trespond "hi"\n}\n');
    const options = resolve(['caddy', 'run', '--config', 'Caddyfile']);
    expect(options.warnings).toEqual([]);
    expect(options.sidePorts).toEqual([]);
    expect(options.rendering).toBeUndefined();
    expect(options.check).toBeUndefined();
  });

  it('a copy moves the admin endpoint to the private port, accepts the public address as origin, keeps the rest, and makes relative imports absolute', () => {
    const text = [
      '# dev Caddyfile',
      '{',
      '\tauto_https off',
      '\tadmin localhost:2999 {',
      '\t\tenforce_origin',
      '\t}',
      '}',
      '(common) {',
      '\theader X-Dev 1',
      '}',
      'import snippets/*.caddy',
      'import /etc/caddy/shared.caddy',
      ':{$PORT} {',
      '\timport common',
      '\trespond "hi"',
      '}',
      '',
    ].join('\n');
    writeFileSync(tmp.file('Caddyfile'), text);
    const options = resolve(['caddy', 'run', '--config', 'Caddyfile']);
    expect(options.sidePorts).toEqual([{ name: 'admin', port: 2999 }]);
    const copy = options.rendering!.render(text, { admin: 41000 });
    expect(copy.split('\n')).toEqual([
      '# dev Caddyfile',
      '{',
      '\tauto_https off',
      '\tadmin 127.0.0.1:41000 {',
      '\t\torigins localhost:2999 127.0.0.1:2999 [::1]:2999 127.0.0.1:41000',
      '\t}',
      '}',
      '(common) {',
      '\theader X-Dev 1',
      '}',
      `import ${tmp.file('snippets/*.caddy')}`,
      'import /etc/caddy/shared.caddy',
      ':{$PORT} {',
      '\timport common',
      '\trespond "hi"',
      '}',
      '',
    ]);
    // Without a global options block, one is added first.
    expect(options.rendering!.render(':{$PORT} {\n\trespond "hi"\n}\n', { admin: 41000 }).split('\n').slice(0, 5)).toEqual(['{', '\tadmin 127.0.0.1:41000 {', '\t\torigins localhost:2999 127.0.0.1:2999 [::1]:2999 127.0.0.1:41000', '\t}', '}']);
  });

  it('a JSON config gets admin.listen and origins in its copy; disabled admin is left alone', () => {
    writeFileSync(tmp.file('caddy.json'), JSON.stringify({ admin: { listen: 'localhost:2998' }, apps: {} }));
    const options = resolve(['caddy', 'run', '--config', 'caddy.json']);
    expect(options.sidePorts).toEqual([{ name: 'admin', port: 2998 }]);
    expect(JSON.parse(options.rendering!.render(JSON.stringify({ admin: { listen: 'localhost:2998' }, apps: {} }), { admin: 41001 }))).toEqual({
      admin: { listen: '127.0.0.1:41001', origins: ['localhost:2998', '127.0.0.1:2998', '[::1]:2998', '127.0.0.1:41001'] },
      apps: {},
    });
    writeFileSync(tmp.file('off.json'), JSON.stringify({ admin: { disabled: true } }));
    expect(resolve(['caddy', 'run', '--config', 'off.json']).sidePorts).toEqual([]);
  });
});

describe('KrakenD telemetry', () => {
  it('finds telemetry/metrics (default :8090) and Prometheus exporters (default 9090), and writes private ports on 127.0.0.1 into the copy only', () => {
    const config = { version: 3, extra_config: { 'telemetry/metrics': { collection_time: '60s' }, 'telemetry/opentelemetry': { exporters: { prometheus: [{ name: 'a' }, { name: 'b', port: 9191, listen_ip: '0.0.0.0' }] } } } };
    writeFileSync(tmp.file('k.json'), JSON.stringify(config));
    const options = resolve(['krakend', 'run', '-c', 'k.json']);
    expect(options.sidePorts).toEqual([{ name: 'metrics', port: 8090 }, { name: 'prometheus', port: 9090 }, { name: 'prometheus_2', port: 9191 }]);
    const copy = JSON.parse(options.rendering!.render(JSON.stringify(config), { metrics: 40001, prometheus: 40002, prometheus_2: 40003 }));
    expect(copy.extra_config['telemetry/metrics']).toEqual({ collection_time: '60s', listen_address: '127.0.0.1:40001' });
    expect(copy.extra_config['telemetry/opentelemetry'].exporters.prometheus).toEqual([{ name: 'a', port: 40002, listen_ip: '127.0.0.1' }, { name: 'b', port: 40003, listen_ip: '127.0.0.1' }]);
    // A broken save goes to KrakenD as it is, for KrakenD to name the problem.
    expect(options.rendering!.render('{ "version": 3,', {})).toBe('{ "version": 3,');
  });

  it('a config without telemetry, or with Flexible Configuration, gets no side ports and no copy', () => {
    writeFileSync(tmp.file('plain.json'), JSON.stringify({ version: 3, endpoints: [] }));
    expect(resolve(['krakend', 'run', '-c', 'plain.json']).rendering).toBeUndefined();
    writeFileSync(tmp.file('fc.tmpl'), '{ "version": 3, "extra_config": { "telemetry/metrics": {} } }');
    const fc = resolveOptions({ command: ['krakend', 'run', '-c', 'fc.tmpl'], cwd: tmp.dir, env: { ...process.env, FC_ENABLE: '1' } });
    expect(fc.sidePorts).toEqual([]);
  });
});
