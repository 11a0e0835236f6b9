// Runs the real baton CLI (dist/cli/main.js --json) and keeps its events, each stamped with
// performance.now() at arrival so they line up with the load's clock.
import { CLI, sleep } from './util.mjs';
import { start, stop } from './proc.mjs';

/**
 * @param {string[]} batonArgs flags before `--` (port, watch, debounce...)
 * @param {string[]} command the gateway command
 * @param {{env?: object, cwd?: string, nodeArgs?: string[], cli?: string}} [o] cli: another build's cli.js
 */
export async function startBaton(batonArgs, command, { env, cwd, nodeArgs = [], cli = CLI } = {}) {
  const events = [];
  // Old generations stop once drained, as in the earlier tables (builds from before --keep-previous lack the flag).
  const keep = cli === CLI && !batonArgs.includes('--keep-previous') ? ['--keep-previous', '0'] : [];
  const child = start(process.execPath, [...nodeArgs, cli, '--json', ...keep, ...batonArgs, '--', ...command], {
    env,
    cwd,
    onLine: (line) => {
      if (!line.startsWith('{')) return;
      const event = JSON.parse(line);
      event.at = performance.now();
      events.push(event);
    },
  });

  /** The first event from index `from` on matching `match`. */
  async function waitFor(match, { from = 0, timeoutMs = 30_000 } = {}) {
    const t0 = performance.now();
    for (;;) {
      const found = events.slice(from).find(match);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`baton exited:\n${child.output().slice(-3000)}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`no matching baton event within ${timeoutMs} ms:\n${child.output().slice(-3000)}`);
      await sleep(2);
    }
  }

  const listening = await waitFor((e) => e.type === 'listening');
  const starting = await waitFor((e) => e.type === 'starting');
  await waitFor((e) => e.type === 'serving' || e.type === 'rejected');
  if (events.some((e) => e.type === 'rejected')) throw new Error(`first gateway instance rejected:\n${child.output().slice(-3000)}`);
  return {
    child,
    pid: child.pid,
    port: listening.port,
    url: `http://127.0.0.1:${listening.port}`,
    /** The serving instance's private port (direct access to the gateway). */
    privatePort: starting.port,
    gatewayPid: starting.pid,
    events,
    waitFor,
    stop: () => stop(child, { graceMs: 10_000 }),
  };
}
