import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatonProcess, isAlive, ROOT } from './helpers/baton-process.js';
import { sleep, writeText } from './helpers/files.js';
import { useHarness } from './helpers/harness.js';
import { freePort } from './helpers/ports.js';
import { getJson, request, waitForVersion } from './helpers/http.js';
import { Load } from './helpers/load.js';

// KrakenD cannot be installed on these machines: these tests run baton's KrakenD preset
// against a stand-in that reproduces KrakenD's command line (test/fixtures/krakend-standin).
const STANDIN = path.join(ROOT, 'test/fixtures/krakend-standin');

const h = useHarness();

/** A KrakenD config whose `/` endpoint answers `{"version": <version>}`. */
function krakendConfig(version: string): string {
  return `${JSON.stringify({ version: 3, port: 8080, endpoints: [{ endpoint: '/', method: 'GET', output: { version } }] }, null, 2)}\n`;
}

/** `baton --json -p 0 <extra> -- krakend run -c <config>` with the stand-in first on PATH: no other flag. */
function startKrakend(config: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): BatonProcess {
  return BatonProcess.start(['-p', '0', '--debounce', '20', ...extra, '--', 'krakend', 'run', '-c', config], {
    cwd: h.tmp.dir,
    env: { ...process.env, ...env, PATH: `${STANDIN}${path.delimiter}${process.env.PATH}` },
  });
}

describe('KrakenD preset (against the stand-in)', () => {
  it('`baton -- krakend run -c krakend.json` alone: port, health, check and watch are set, reloads drop nothing, a broken save is rejected with KrakenD\'s error', async () => {
    writeText(h.tmp.file('krakend.json'), krakendConfig('k1'));
    h.baton = startKrakend('krakend.json');
    const url = await h.baton.url();
    const preset = await h.baton.waitFor((e) => e.type === 'preset');
    expect(preset.name).toBe('krakend');
    expect(preset.applied).toEqual(['command: krakend run -c krakend.json -p {port}', 'health: /__health', 'check: krakend check -n -c krakend.json']);
    const listening = h.baton.events.find((e) => e.type === 'listening')!;
    expect(listening.watch).toEqual([h.tmp.file('krakend.json')]);
    await h.baton.serving(1);

    const load = new Load(url, { clients: 6, mode: 'get' });
    for (let i = 2; i <= 5; i++) {
      writeText(h.tmp.file('krakend.json'), krakendConfig(`k${i}`));
      await h.baton.serving(i);
      await sleep(100);
    }
    writeText(h.tmp.file('krakend.json'), '{ "version": 3, "endpoints": [');
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected');
    expect(rejected.reason).toBe('check failed (exit code 1)');
    expect((rejected.output as string[]).join('\n')).toMatch(/ERROR parsing the configuration file/);
    expect(rejected.serving).toBe(5);
    await sleep(200);
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect(result.versions).toEqual(['k1', 'k2', 'k3', 'k4', 'k5']);

    writeText(h.tmp.file('krakend.json'), krakendConfig('k6'));
    await waitForVersion(url, 'k6');
    const exit = await h.baton.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(h.baton.gatewayPids().filter(isAlive)).toEqual([]);
  });

  it('without the check, a config KrakenD refuses at start is rejected with its ERROR line in the reason', async () => {
    writeText(h.tmp.file('krakend.json'), krakendConfig('k1'));
    h.baton = startKrakend('krakend.json', ['--check', '']);
    await h.baton.serving(1);
    writeText(h.tmp.file('krakend.json'), JSON.stringify({ version: 2, endpoints: [] }));
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected');
    expect(rejected.reason).toMatch(/^exited with code 1 before becoming healthy: ERROR parsing the configuration file: .*unsupported version: 2/);
    expect(rejected.serving).toBe(1);
  });

  it('honours a custom health_path from the config', async () => {
    const config = { version: 3, endpoints: [{ endpoint: '/', output: { version: 'custom' } }], extra_config: { router: { health_path: '/ping' } } };
    writeText(h.tmp.file('krakend.json'), JSON.stringify(config));
    h.baton = startKrakend('krakend.json');
    const preset = await h.baton.waitFor((e) => e.type === 'preset');
    expect(preset.applied).toContain('health: /ping');
    const url = await h.baton.url();
    await h.baton.serving(1);
    expect((await request(`${url}/ping`)).status).toBe(200);
  });

  it('Flexible Configuration: settings changes reload, the rendered FC_OUT file does not', async () => {
    const dir = h.tmp.dir;
    mkdirSync(path.join(dir, 'settings'));
    mkdirSync(path.join(dir, 'partials'));
    mkdirSync(path.join(dir, 'templates'));
    writeFileSync(path.join(dir, 'settings/service.json'), JSON.stringify({ version: 'fc1' }));
    // A template renders the settings value; a partial is inserted as it is.
    writeFileSync(path.join(dir, 'templates/endpoint.tmpl'), '{ "endpoint": "/", "method": "GET", "output": { "version": "{{ .service.version }}" } }');
    writeFileSync(path.join(dir, 'partials/health.json'), '{ "endpoint": "/static", "method": "GET" }');
    writeFileSync(path.join(dir, 'krakend.tmpl'), '{ "version": 3, "port": 8080, "endpoints": [ {{ template "endpoint.tmpl" . }}, {{ include "health.json" }} ] }');
    const env = { FC_ENABLE: '1', FC_SETTINGS: 'settings', FC_PARTIALS: 'partials', FC_TEMPLATES: 'templates', FC_OUT: 'rendered.json' };
    h.baton = startKrakend('krakend.tmpl', [], env);
    const url = await h.baton.url();
    const listening = await h.baton.waitFor((e) => e.type === 'listening');
    expect(listening.watch).toEqual(['krakend.tmpl', 'settings', 'partials', 'templates'].map((p) => path.join(dir, p)));
    await waitForVersion(url, 'fc1');
    expect(JSON.parse(readFileSync(path.join(dir, 'rendered.json'), 'utf8')).endpoints[0].output.version).toBe('fc1');

    writeFileSync(path.join(dir, 'settings/service.json'), JSON.stringify({ version: 'fc2' }));
    await waitForVersion(url, 'fc2');
    await sleep(500);
    // Each start rewrote rendered.json; none of those writes started a generation.
    expect(h.baton.events.filter((e) => e.type === 'starting')).toHaveLength(2);
    expect((await getJson(url)).version).toBe('fc2');
  });
});

describe('KrakenD telemetry ports (against the stand-in)', () => {
  it('holds the telemetry/metrics and Prometheus ports, each following the serving generation across saves under load; the user file is never written', async () => {
    const [metrics, prometheus] = [await freePort(), await freePort()];
    const config = (version: string): string =>
      `${JSON.stringify({ version: 3, name: version, endpoints: [{ endpoint: '/', method: 'GET', output: { version } }], extra_config: { 'telemetry/metrics': { collection_time: '60s', listen_address: `:${metrics}` }, 'telemetry/opentelemetry': { exporters: { prometheus: [{ name: 'local', port: prometheus }] } } } }, null, 2)}\n`;
    writeText(h.tmp.file('krakend.json'), config('k1'));
    h.baton = startKrakend('krakend.json');
    const preset = await h.baton.waitFor((e) => e.type === 'preset');
    expect(preset.applied).toContain(`side ports: ${metrics}:metrics, ${prometheus}:prometheus (each instance reads a copy of krakend.json with its own ports)`);
    expect(preset.applied).toContain('check: krakend check -n -c "$BATON_CONFIG"');
    const listening = h.baton.events.find((e) => e.type === 'listening')!;
    expect((listening.sidePorts as Array<{ name: string; port: number }>).map((s) => [s.name, s.port])).toEqual([['metrics', metrics], ['prometheus', prometheus]]);
    await h.baton.serving(1);
    const url = await h.baton.url();
    const load = new Load(url, { clients: 6, mode: 'get' });
    const pidOf = (gen: number): number => h.baton!.events.find((e) => e.type === 'starting' && e.gen === gen)!.pid as number;
    for (let gen = 2; gen <= 4; gen++) {
      writeText(h.tmp.file('krakend.json'), config(`k${gen}`));
      await h.baton.serving(gen);
      // A scraper of either public port reads the generation serving now, not the one before.
      expect(await getJson(`http://127.0.0.1:${metrics}/__stats`)).toMatchObject({ service: 'krakend-metrics', pid: pidOf(gen), name: `k${gen}` });
      expect((await request(`http://127.0.0.1:${prometheus}/metrics`)).body).toContain(`pid="${pidOf(gen)}"`);
      await sleep(100);
    }
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect(result.versions).toEqual(['k1', 'k2', 'k3', 'k4']);
    // No instance failed to bind a telemetry port (the stand-in logs it, as KrakenD does, and runs on).
    expect(h.baton.events.filter((e) => e.type === 'output' && /bind: address already in use/.test(e.line as string))).toEqual([]);
    expect(readFileSync(h.tmp.file('krakend.json'), 'utf8')).toBe(config('k4'));
    // The check read each instance's copy: a broken save is still refused, naming KrakenD's error.
    writeText(h.tmp.file('krakend.json'), '{ "version": 3, "endpoints": [');
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected');
    expect(rejected.reason).toBe('check failed (exit code 1)');
    expect((rejected.output as string[]).join('\n')).toMatch(/ERROR parsing the configuration file: '\/.*\/gen-5\/krakend\.json'/);
    const exit = await h.baton.stop('SIGTERM');
    expect(exit.code).toBe(0);
  });
});

describe('KrakenD with Flexible Configuration and a metrics port (against the stand-in)', () => {
  it('the recipe: --side-port and {{ env "BATON_PORT_METRICS" }} in the template give each instance its own metrics port', async () => {
    const metrics = await freePort();
    const dir = h.tmp.dir;
    mkdirSync(path.join(dir, 'settings'));
    writeFileSync(path.join(dir, 'settings/service.json'), JSON.stringify({ name: 'fc1' }));
    writeFileSync(
      path.join(dir, 'krakend.tmpl'),
      '{ "version": 3, "name": "{{ .service.name }}", "endpoints": [], "extra_config": { "telemetry/metrics": { "listen_address": "127.0.0.1:{{ env "BATON_PORT_METRICS" }}" } } }',
    );
    h.baton = startKrakend('krakend.tmpl', ['--side-port', `${metrics}:metrics`], { FC_ENABLE: '1', FC_SETTINGS: 'settings' });
    await h.baton.serving(1);
    expect(await getJson(`http://127.0.0.1:${metrics}/__stats`)).toMatchObject({ name: 'fc1' });
    writeFileSync(path.join(dir, 'settings/service.json'), JSON.stringify({ name: 'fc2' }));
    await h.baton.serving(2);
    expect(await getJson(`http://127.0.0.1:${metrics}/__stats`)).toMatchObject({ name: 'fc2' });
    expect(h.baton.events.filter((e) => e.type === 'output' && /bind: address already in use/.test(e.line as string))).toEqual([]);
  });
});

describe('KrakenD with a tls block (against the stand-in)', () => {
  it('probes and proxies in TLS, serves the gateway\'s own certificate on the public port, and reloads under load with no failed request', async () => {
    const tlsDir = path.join(ROOT, 'test/fixtures/tls');
    const config = (version: string): string =>
      `${JSON.stringify({ version: 3, endpoints: [{ endpoint: '/', method: 'GET', output: { version } }], tls: { keys: [{ public_key: path.join(tlsDir, 'localhost.pem'), private_key: path.join(tlsDir, 'localhost.key') }] } }, null, 2)}\n`;
    writeText(h.tmp.file('krakend.json'), config('t1'));
    h.baton = startKrakend('krakend.json');
    const preset = await h.baton.waitFor((e) => e.type === 'preset');
    expect(preset.applied).toContain('upstream TLS: the gateway listens in TLS');
    expect(preset.applied).toContain(`HTTPS on the public port with the gateway's certificate ${path.join(tlsDir, 'localhost.pem')}`);
    const listening = h.baton.events.find((e) => e.type === 'listening')!;
    expect(listening.tls).toEqual({ certificate: path.join(tlsDir, 'localhost.pem'), from: 'preset' });
    expect(await h.baton.waitFor((e) => e.type === 'serving' && e.gen === 1)).toMatchObject({ tls: true });
    const url = (listening.url as string).replace('127.0.0.1', 'localhost');
    const load = new Load(url, { clients: 6, mode: 'get', ca: readFileSync(path.join(tlsDir, 'ca.pem')) });
    for (let gen = 2; gen <= 4; gen++) {
      writeText(h.tmp.file('krakend.json'), config(`t${gen}`));
      await h.baton.serving(gen);
      await sleep(100);
    }
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect(result.versions).toEqual(['t1', 't2', 't3', 't4']);
    // Found from the config, not from a failed probe: nothing to warn about.
    expect(h.baton.events.filter((e) => e.type === 'warning')).toEqual([]);
  });
});
