import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE, isAlive } from './helpers/baton-process.js';
import { writeConfig, writeText } from './helpers/files.js';
import { getJson } from './helpers/http.js';
import { useHarness } from './helpers/harness.js';

const h = useHarness();

/** A --check that fails on invalid JSON or on "reject": true, printing why, like `krakend check` does. */
const CHECK = `node -e "const c = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); if (c.reject) { console.error('check: config says reject'); process.exit(3); }"`;

describe('starting a candidate', () => {
  it('--check rejects a change: the instance booting beside it is stopped, never promoted; the old generation keeps serving', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'checked-1' });
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '-w', config, '--check', `${CHECK} ${config}`, '--', 'node', FIXTURE, config]);
    const url = await h.baton.url();
    await h.baton.serving(1);

    writeConfig(config, { version: 'checked-2', reject: true });
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected' && e.gen === 2);
    expect(rejected.reason).toBe('check failed (exit code 3)');
    expect(rejected.output).toEqual(['check: config says reject']);
    expect(rejected.serving).toBe(1);
    // The check runs while the candidate boots; by the rejection that process is gone.
    const started = h.baton.events.find((e) => e.type === 'starting' && e.gen === 2);
    if (started) expect(isAlive(started.pid as number)).toBe(false);
    expect(h.baton.events.some((e) => e.type === 'serving' && e.gen === 2)).toBe(false);
    expect((await getJson(url)).version).toBe('checked-1');

    writeText(config, '{"version": "checked-3"}');
    await h.baton.serving(3);
    expect((await getJson(url)).version).toBe('checked-3');
  });

  it('a candidate that loses its port to another process is retried on another port', async () => {
    const config = h.tmp.file('gateway.json');
    const marker = h.tmp.file('clashed');
    writeConfig(config, { version: 'clash', clashOnce: marker });
    h.baton = BatonProcess.start(['-p', '0', '-w', config, '--', 'node', FIXTURE, config]);
    const url = await h.baton.url();
    const clash = await h.baton.waitFor((e) => e.type === 'port-clash');
    expect(clash.gen).toBe(1);
    await h.baton.serving(1);
    expect(existsSync(marker)).toBe(true);
    const ports = h.baton.events.filter((e) => e.type === 'starting').map((e) => e.port);
    expect(ports).toHaveLength(2);
    expect(ports[0]).not.toBe(ports[1]);
    expect((await getJson(url)).version).toBe('clash');
  });

  it('a candidate listening on the wrong port is rejected after --ready-timeout with a hint, and stopped', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--ready-timeout', '500', '-w', config, '--', 'node', FIXTURE, config]);
    await h.baton.serving(1);
    writeConfig(config, { version: 'v2', wrongPort: true });
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected' && e.gen === 2);
    expect(rejected.reason).toMatch(/^not healthy within 500 ms \(GET \/: nothing listening on port \d+\); does the gateway listen on 127\.0\.0\.1 \(or all addresses\) at \{port\} or \$PORT\?$/);
    expect(rejected.serving).toBe(1);
    const pids = h.baton.gatewayPids();
    expect(isAlive(pids[0]!)).toBe(true);
    expect(isAlive(pids[1]!)).toBe(false);
  });

  it('a candidate that never becomes healthy is rejected after --ready-timeout and its process stopped; the old one keeps serving', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--ready-timeout', '500', '-w', config, '--', 'node', FIXTURE, config]);
    const url = await h.baton.url();
    await h.baton.serving(1);
    writeConfig(config, { version: 'v2', neverHealthy: true });
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected' && e.gen === 2);
    expect(rejected.reason).toMatch(/^not healthy within 500 ms \(GET \/: GET \/ answered 503\)/);
    expect(rejected.serving).toBe(1);
    expect(isAlive(h.baton.gatewayPids()[1]!)).toBe(false);
    expect((await getJson(url)).version).toBe('v1');
  });

  it('--quiet prints only errors', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = BatonProcess.raw(['-q', '-p', '0', '--debounce', '20', '-w', config, '--', 'node', FIXTURE, config]);
    // Nothing announces readiness in quiet mode: save a broken config until its rejection shows.
    writeText(config, '{ nope');
    const deadline = Date.now() + 20_000;
    while (!h.baton.stderr.includes('rejected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(h.baton.stdout).toBe('');
    expect(h.baton.stderr).toMatch(/baton {2}gen \d rejected: exited with code 1 before becoming healthy/);
    expect(h.baton.stderr).toMatch(/│ ERROR parsing the configuration file/);
  });
});
