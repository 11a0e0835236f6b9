// How a config save becomes a running new config, one strategy each:
//   baton    the real CLI in front of the gateway (blue/green, no dropped connections)
//   restart  what a plain file watcher does: SIGTERM the gateway, wait for it to exit
//            (SIGKILL after `graceMs`), start it again on the same port (fs.watch, here)
//   reflex   the reflex file watcher (-s: restart a service on change), if installed
//   nginx    nginx in front of the fixture, its config saved and `nginx -s reload` run
// Each start() resolves once the first config serves, with { url, pid, stop(), info() }.
import { mkdirSync, watch, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import getPort from 'get-port';
import { startBaton } from './baton.mjs';
import { gatewayEnv } from './gateways.mjs';
import { start, stop, waitHttp } from './proc.mjs';
import { nginxConf } from './nginx.mjs';
import { FIXTURE, installed } from './util.mjs';

/** fs.watch with a short debounce (editors and writeFile fire several events per save). */
function onSave(file, debounceMs, fn) {
  let timer;
  let busy = Promise.resolve();
  const watcher = watch(file, () => {
    clearTimeout(timer);
    timer = setTimeout(() => (busy = busy.then(fn, fn)), debounceMs);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
    return busy;
  };
}

export function batonStrategy({ debounce } = {}) {
  return {
    name: debounce === undefined ? 'baton' : `baton --debounce ${debounce}`,
    missing: undefined,
    async start({ gateway, dir, file }) {
      const port = await getPort({ host: '127.0.0.1' });
      const flags = ['-p', String(port), '-w', file, ...(debounce === undefined ? [] : ['--debounce', String(debounce)])];
      const baton = await startBaton(flags, gateway.command(file), { env: gatewayEnv(dir), cwd: dir });
      return { url: baton.url, pid: baton.pid, events: baton.events, stop: baton.stop };
    },
  };
}

export function restartStrategy({ debounce = 10, graceMs = 1000 } = {}) {
  return {
    name: 'kill-and-restart',
    missing: undefined,
    async start({ gateway, dir, file }) {
      const port = await getPort({ host: '127.0.0.1' });
      const [cmd, ...args] = gateway.command(file);
      const run = () => start(cmd, args, { env: gatewayEnv(dir, { PORT: String(port) }), cwd: dir });
      let child = run();
      await waitHttp(port, { child });
      const unwatch = onSave(file, debounce, async () => {
        await stop(child, { graceMs });
        child = run();
      });
      return {
        url: `http://127.0.0.1:${port}`,
        pid: child.pid,
        stop: async () => {
          await unwatch();
          await stop(child);
        },
      };
    },
  };
}

export function reflexStrategy() {
  return {
    name: 'reflex',
    missing: installed('reflex') ? undefined : 'reflex is not installed (apt-get install reflex)',
    async start({ gateway, dir, file }) {
      const port = await getPort({ host: '127.0.0.1' });
      const args = ['-d', 'none', '-s', '-g', path.basename(file), '--', ...gateway.command(file)];
      const child = start('reflex', args, { env: gatewayEnv(dir, { PORT: String(port) }), cwd: dir });
      await waitHttp(port, { child });
      return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => stop(child) };
    },
  };
}

function nginxConfFor(dir, port, backendPort, version) {
  return nginxConf({ root: dir, port, backends: [backendPort], location: `proxy_hide_header X-Version;\nadd_header X-Version "${version}" always;` });
}

/**
 * nginx as the gateway (proxying to a fixture backend), reloaded in place. The bench
 * writes nginx.conf; a watcher runs `nginx -s reload` on each save. The config it
 * writes is nginx's own, so this strategy brings its own `configFor(version)`.
 */
export function nginxStrategy({ debounce = 10 } = {}) {
  return {
    name: 'nginx -s reload',
    missing: installed('nginx') ? undefined : 'nginx is not installed (apt-get install nginx)',
    ownGateway: true,
    async start({ dir, file }) {
      mkdirSync(path.join(dir, 'tmp'), { recursive: true });
      const port = await getPort({ host: '127.0.0.1' });
      const backendPort = await getPort({ host: '127.0.0.1' });
      writeFileSync(path.join(dir, 'backend.json'), JSON.stringify({ version: 'backend' }));
      const backend = start('node', [FIXTURE, path.join(dir, 'backend.json')], { env: { ...process.env, PORT: String(backendPort) } });
      await waitHttp(backendPort, { child: backend });
      this.configFor = (version) => nginxConfFor(dir, port, backendPort, version);
      writeFileSync(file, this.configFor('v0'));
      const nginxArgs = ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', file];
      const master = start('nginx', nginxArgs);
      await waitHttp(port, { child: master });
      const reload = () => new Promise((resolve) => execFile('nginx', [...nginxArgs, '-s', 'reload'], () => resolve()));
      const unwatch = onSave(file, debounce, reload);
      return {
        url: `http://127.0.0.1:${port}`,
        pid: master.pid,
        stop: async () => {
          await unwatch();
          await stop(master, { signal: 'SIGQUIT' });
          await stop(backend);
        },
      };
    },
  };
}
