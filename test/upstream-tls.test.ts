import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLI, FIXTURE, ROOT } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { DATA_PATHS, startFixture, useHarness } from './helpers/harness.js';
import { getJson, request } from './helpers/http.js';
import { Load } from './helpers/load.js';

// A gateway that listens in TLS on its private port (KrakenD with a tls block, a Caddy
// HTTPS site address): baton finds out from the first probe, or is told with
// --upstream-tls, and then probes and proxies in TLS on both data paths.

const TLS = path.join(ROOT, 'test/fixtures/tls');
const h = useHarness();

describe.each(DATA_PATHS)('a gateway in TLS, on the %s', (_name, pathFlags) => {
  it('is found out from the first probe, then reloads under load with no failed request; SNI and Host are the client\'s', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', tls: true });
    h.baton = startFixture(config, [...pathFlags]);
    const url = await h.baton.url();
    const warning = await h.baton.waitFor((e) => e.type === 'warning' && e.gen === 1);
    expect(warning.message).toBe(
      "gen 1 listens in TLS on its private port: baton talks TLS to it (its certificate is not verified on loopback; --upstream-ca <file> verifies it); --upstream-tls says so up front; the public port serves plain HTTP: for HTTPS there, give --tls-cert and --tls-key (the gateway's own certificate, say) or --tls self-signed",
    );
    expect(await h.baton.waitFor((e) => e.type === 'serving' && e.gen === 1)).toMatchObject({ tls: true });
    const load = new Load(url, { clients: 6, slowClients: 2, slowMs: 300 });
    for (let gen = 2; gen <= 4; gen++) {
      writeConfig(config, { version: `v${gen}`, tls: true });
      expect(await h.baton.waitFor((e) => e.type === 'serving' && e.gen === gen)).toMatchObject({ tls: true });
      await sleep(100);
    }
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect(result.postsVerified).toBeGreaterThan(10);
    // Told once: later generations are probed in TLS from the start.
    expect(h.baton.events.filter((e) => e.type === 'warning')).toHaveLength(1);
    expect(await getJson(`${url}/__tls`)).toEqual({ tls: true, sni: 'localhost', host: new URL(url).host });
    const named = await request(`${url}/__tls`, { headers: { host: 'api.localhost:8443' } });
    expect(JSON.parse(named.body)).toEqual({ tls: true, sni: 'api.localhost', host: 'api.localhost:8443' });
  });
});

describe('a gateway in TLS', () => {
  it('carries WebSockets to it in TLS', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', tls: true });
    h.baton = startFixture(config, ['--upstream-tls']);
    const url = await h.baton.url();
    await h.baton.serving(1);
    const ws = new WebSocket(url.replace('http', 'ws'));
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello'));
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    ws.close();
    expect(reply).toBe('v1:hello');
  });

  it('--upstream-tls probes in TLS from the first instance, and says nothing', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', tls: true });
    h.baton = startFixture(config, ['--upstream-tls']);
    expect(await h.baton.waitFor((e) => e.type === 'serving' && e.gen === 1)).toMatchObject({ tls: true });
    expect(h.baton.events.filter((e) => e.type === 'warning')).toEqual([]);
  });

  it('--upstream-ca verifies the certificate: the right CA serves, another is rejected at once naming the flag', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', tls: true });
    h.baton = startFixture(config, ['--upstream-tls', '--upstream-ca', path.join(TLS, 'ca.pem')]);
    await h.baton.serving(1);
    expect((await getJson(await h.baton.url())).version).toBe('v1');
    await h.baton.stop('SIGTERM');

    h.baton = startFixture(config, ['--upstream-tls', '--upstream-ca', path.join(TLS, 'other-ca.pem'), '--ready-timeout', '60000']);
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected');
    expect(rejected.reason).toMatch(/^the TLS handshake with its private port :\d+ failed \([A-Z_]+\): its certificate does not chain to --upstream-ca/);
  });

  it('--upstream-tls on a gateway that speaks plain HTTP is rejected at once, saying what to drop', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, ['--upstream-tls', '--ready-timeout', '60000']);
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected');
    expect(rejected.reason).toMatch(/failed \([A-Z_]+\): does it listen in TLS there\? For a plain-HTTP gateway, leave --upstream-tls out$/);
  });

  it('a bad --upstream-ca is refused at start with one line and exit 2', () => {
    for (const [file, message] of [
      ['nope.pem', /--upstream-ca .*nope\.pem cannot be read \(ENOENT\) — give the path of a PEM file/],
      [FIXTURE, /--upstream-ca .*gateway\.mjs is not a PEM file/],
    ] as const) {
      const run = spawnSync(process.execPath, [CLI, '--upstream-ca', file, '--', 'node', FIXTURE, 'x.json'], { encoding: 'utf8', timeout: 10_000 });
      expect(run.status).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
  });
});
