// The gateways under test. Each one knows how to write its config for a given version
// (answers carry it in the `x-version` header), the command that runs it (port from $PORT),
// and any backend it needs.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import getPort from 'get-port';
import { start, stop, waitHttp } from './proc.mjs';
import { FIXTURE, installed, median } from './util.mjs';

/** Caddy keeps autosaved config and certificates under XDG folders: keep them in `dir`. */
export function gatewayEnv(dir, extra = {}) {
  return { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'xdg-config'), XDG_DATA_HOME: path.join(dir, 'xdg-data'), ...extra };
}

/** The fixture gateway (test/fixtures/gateway.mjs): Node, GET / · POST /echo · GET /slow. */
export function fixtureGateway() {
  return {
    name: 'fixture',
    label: 'fixture gateway (Node)',
    missing: undefined,
    mode: 'echo',
    file: 'gateway.json',
    /** The line the gateway prints once it listens (read from baton's output events). */
    readyLine: /listening on/,
    async prepare() {},
    async cleanup() {},
    config: (version) => `${JSON.stringify({ version })}\n`,
    command: (file) => ['node', FIXTURE, file],
  };
}

/** A backend on a fixed port, started once per run: the fixture gateway or a Caddy `respond`. */
async function startBackend(kind, dir) {
  const port = await getPort({ host: '127.0.0.1' });
  const env = gatewayEnv(dir, { PORT: String(port) });
  let child;
  if (kind === 'caddy') {
    const file = path.join(dir, 'backend.Caddyfile');
    const body = JSON.stringify({ hello: 'from the backend', padding: 'x'.repeat(200) });
    writeFileSync(file, `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\trespond \`${body}\` 200\n}\n`);
    child = start('caddy', ['run', '--config', file, '--adapter', 'caddyfile'], { env, cwd: dir });
  } else {
    const file = path.join(dir, 'backend.json');
    writeFileSync(file, JSON.stringify({ version: 'backend' }));
    child = start('node', [FIXTURE, file], { env, cwd: dir });
  }
  await waitHttp(port, { child });
  return { port, stop: () => stop(child) };
}

/**
 * Caddy `reverse_proxy` in front of a backend: the gateway-shaped workload.
 * backend 'fixture' supports POST /echo and /slow (reload runs); 'caddy' is a static
 * answer, so the proxy, not the backend, is the bottleneck (overhead runs).
 */
export function caddyGateway({ backend = 'fixture' } = {}) {
  let upstream;
  return {
    name: backend === 'caddy' ? 'caddy-static' : 'caddy',
    label: `Caddy reverse_proxy → ${backend === 'caddy' ? 'Caddy respond' : 'fixture (Node)'} backend`,
    missing: installed('caddy') ? undefined : 'caddy is not installed (apt-get install caddy)',
    // 'plain' (POST / with a body, any 200) rather than verified POST /echo: Caddy 2.6's
    // HTTP/1 reverse_proxy cuts some echoed 1–64 KiB answers even with no reload and no
    // baton (caddyserver/caddy#5431), which would be counted against every strategy.
    mode: 'plain',
    file: 'Caddyfile',
    readyLine: /"server running"/,
    async prepare(dir) {
      mkdirSync(dir, { recursive: true });
      upstream = await startBackend(backend, dir);
    },
    async cleanup() {
      await upstream?.stop();
    },
    config: (version) =>
      `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\treverse_proxy 127.0.0.1:${upstream.port} {\n\t\theader_down X-Version "${version}"\n\t}\n}\n`,
    command: (file) => ['caddy', 'run', '--config', file, '--adapter', 'caddyfile'],
  };
}

/**
 * The gateway's own time from spawn to its first answer below 500, polled every 2 ms on
 * fresh connections: what any reload must wait for at least. Median of `n` starts.
 */
export async function timeToHealthy(gateway, dir, n = 3) {
  const file = path.join(dir, `tth-${gateway.file}`);
  writeFileSync(file, gateway.config('tth'));
  const samples = [];
  for (let i = 0; i < n; i++) {
    const port = await getPort({ host: '127.0.0.1' });
    const [cmd, ...args] = gateway.command(file);
    const t0 = performance.now();
    const child = start(cmd, args, { env: gatewayEnv(dir, { PORT: String(port) }), cwd: dir });
    await waitHttp(port, { child, everyMs: 2 });
    samples.push(performance.now() - t0);
    await stop(child);
  }
  return { ms: median(samples), samples: samples.map((s) => Math.round(s)) };
}
