import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BatonProcess, isAlive } from './helpers/baton-process.js';
import { sleep, writeText } from './helpers/files.js';
import { request } from './helpers/http.js';
import { Load } from './helpers/load.js';
import { useHarness } from './helpers/harness.js';
import { freePort } from './helpers/ports.js';

function hasCaddy(): boolean {
  try {
    execFileSync('caddy', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const caddy = hasCaddy();
if (!caddy) {
  console.log('SKIPPED: the real-gateway test against Caddy needs `caddy` on PATH (Debian: apt-get install caddy; .ci/run installs it as root).');
}

/** A Caddyfile that answers with `text`; its port comes from $PORT and the admin API is off so generations never clash. */
function caddyfile(text: string): string {
  return `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\trespond "${text}"\n}\n`;
}

const h = useHarness();

describe.skipIf(!caddy)('real Caddy', () => {
  it('reloads 8 times under keep-alive load with zero failed requests, and rejects a broken Caddyfile', async () => {
    const file = h.tmp.file('Caddyfile');
    writeText(file, caddyfile('caddy v0'));
    // Caddy keeps autosaved config and certificates under XDG folders: keep them in the temp dir.
    const env = { ...process.env, XDG_CONFIG_HOME: h.tmp.file('config'), XDG_DATA_HOME: h.tmp.file('data') };
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--', 'caddy', 'run', '--config', file, '--adapter', 'caddyfile'], { cwd: h.tmp.dir, env });
    const url = await h.baton.url();
    await h.baton.serving(1, 30_000);

    const load = new Load(url, { clients: 8, mode: 'plain' });
    for (let i = 1; i <= 8; i++) {
      writeText(file, caddyfile(`caddy v${i}`));
      await h.baton.serving(i + 1, 30_000);
      await sleep(100);
    }
    writeText(file, `${caddyfile('caddy broken')}\nthis is not a directive {\n`);
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected', { timeoutMs: 30_000 });
    expect(rejected.serving).toBe(9);
    await sleep(200);
    const result = await load.stop();

    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
    expect(result.versions).toContain('caddy v8');
    expect(result.versions).not.toContain('caddy broken');
    expect((await request(url)).body).toBe('caddy v8');

    const exit = await h.baton.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(h.baton.gatewayPids().filter(isAlive)).toEqual([]);
  });

  it('the caddy preset needs no flags and no check: a broken Caddyfile is rejected with Caddy\'s own message, and the old instance goes on', async () => {
    const file = h.tmp.file('Caddyfile');
    writeText(file, caddyfile('caddy one'));
    const env = { ...process.env, XDG_CONFIG_HOME: h.tmp.file('config'), XDG_DATA_HOME: h.tmp.file('data') };
    h.baton = BatonProcess.start(['-p', '0', '--', 'caddy', 'run', '--config', 'Caddyfile', '--adapter', 'caddyfile'], { cwd: h.tmp.dir, env });
    const url = await h.baton.url();
    const preset = await h.baton.waitFor((e) => e.type === 'preset');
    expect(preset.applied).toEqual([]);
    await h.baton.serving(1, 30_000);
    writeText(file, caddyfile('caddy two').replace('respond', 'respondd'));
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected', { timeoutMs: 30_000 });
    expect(rejected.reason).toMatch(/^exited with code 1 before becoming healthy: Error: adapting config using caddyfile: .*unrecognized directive: respondd/);
    expect((rejected.output as string[]).join('\n')).toMatch(/respondd/);
    // By the rejection that process is gone, never promoted.
    for (const started of h.baton.events.filter((e) => e.type === 'starting' && e.gen === rejected.gen)) expect(isAlive(started.pid as number)).toBe(false);
    expect(h.baton.events.filter((e) => e.type === 'serving')).toHaveLength(1);
    expect((await request(url)).body).toBe('caddy one');
  });

  it('a Caddy site address that turns HTTPS on (localhost:{$PORT}) is found out and served in TLS, reloading under load with no failed request', async () => {
    const file = h.tmp.file('Caddyfile');
    // `localhost:{$PORT}` is HTTPS with Caddy's internal CA; the trust store is left alone.
    const site = (text: string): string => `{\n\tadmin off\n\tskip_install_trust\n}\nlocalhost:{$PORT} {\n\trespond "${text}"\n}\n`;
    writeText(file, site('over tls 1'));
    const env = { ...process.env, XDG_CONFIG_HOME: h.tmp.file('config'), XDG_DATA_HOME: h.tmp.file('data') };
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--', 'caddy', 'run', '--config', file, '--adapter', 'caddyfile'], { cwd: h.tmp.dir, env });
    const url = await h.baton.url();
    expect(await h.baton.waitFor((e) => e.type === 'serving' && e.gen === 1, { timeoutMs: 30_000 })).toMatchObject({ tls: true });
    const port = new URL(url).port;
    // Caddy routes by host: the site answers requests for localhost, over TLS with SNI localhost.
    const get = (): Promise<string> => request(url, { headers: { host: `localhost:${port}` } }).then((r) => r.body);
    expect(await get()).toBe('over tls 1');
    // (Load's Host is 127.0.0.1: Caddy answers those 200 with no body, over the same TLS connections.)
    const load = new Load(url, { clients: 6, mode: 'plain' });
    for (let i = 2; i <= 4; i++) {
      writeText(file, site(`over tls ${i}`));
      await h.baton.serving(i, 30_000);
      expect(await get()).toBe(`over tls ${i}`);
      await sleep(100);
    }
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    expect(result.ok).toBeGreaterThan(50);
  });

  it('holds the admin endpoint: the admin API on its public port always reaches the serving generation, across saves under load', async () => {
    const adminPort = await freePort();
    const withAdmin = (text: string): string => `{\n\tadmin localhost:${adminPort}\n\tauto_https off\n}\n:{$PORT} {\n\trespond "${text}"\n}\n`;
    const file = h.tmp.file('Caddyfile');
    writeText(file, withAdmin('admin v1'));
    const env = { ...process.env, XDG_CONFIG_HOME: h.tmp.file('config'), XDG_DATA_HOME: h.tmp.file('data') };
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--', 'caddy', 'run', '--config', 'Caddyfile', '--adapter', 'caddyfile'], { cwd: h.tmp.dir, env });
    const preset = await h.baton.waitFor((e) => e.type === 'preset');
    expect(preset.applied).toContain(`side ports: ${adminPort}:admin (each instance reads a copy of Caddyfile with its own ports)`);
    const url = await h.baton.url();
    await h.baton.serving(1, 30_000);
    const load = new Load(url, { clients: 6, mode: 'plain' });
    /** What the admin API says the running config answers. */
    const adminSays = async (host: string): Promise<string> => {
      const reply = await request(`http://127.0.0.1:${adminPort}/config/apps/http/servers/srv0/routes/0/handle/0/body`, { headers: { host } });
      expect(reply.status, reply.body).toBe(200);
      return JSON.parse(reply.body) as string;
    };
    expect(await adminSays(`localhost:${adminPort}`)).toBe('admin v1');
    for (let i = 2; i <= 4; i++) {
      writeText(file, withAdmin(`admin v${i}`));
      await h.baton.serving(i, 30_000);
      expect(await adminSays(`localhost:${adminPort}`)).toBe(`admin v${i}`);
      expect(await adminSays(`127.0.0.1:${adminPort}`)).toBe(`admin v${i}`);
      await sleep(100);
    }
    const result = await load.stop();
    expect(result.failed, JSON.stringify(result.causes)).toBe(0);
    // A Host the admin endpoint was not told about is still refused by Caddy (its DNS-rebinding guard stays on).
    const foreign = await request(`http://127.0.0.1:${adminPort}/config/`, { headers: { host: 'evil.example' } });
    expect(foreign.status).toBe(403);
    expect(readFileSync(file, 'utf8')).toBe(withAdmin('admin v4'));
    const exit = await h.baton.stop('SIGTERM');
    expect(exit.code).toBe(0);
  });
});

