// Child processes for the bench: each in its own process group, all killed when the bench exits.
import { spawn } from 'node:child_process';
import { probe } from '../../dist/tools/processes.js';
import { sleep } from './util.mjs';

const live = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

process.on('exit', () => {
  for (const child of live) killGroup(child.pid, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of live) killGroup(child.pid, 'SIGKILL');
    process.exit(130);
  });
}

/**
 * Spawns `cmd args` in a new process group. Output is kept (last 64 KiB) for error
 * messages unless `onLine` takes it. Returns the child with `exited` (a promise) and `output()`.
 */
export function start(cmd, args, { env = process.env, cwd, onLine } = {}) {
  const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  let partial = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-65536);
    if (!onLine) return;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const line of lines) onLine(line);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output = (output + chunk).slice(-65536)));
  child.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  child.output = () => output;
  return child;
}

/** SIGTERM (or `signal`) to the child's group; SIGKILL after `graceMs`. Resolves when it exited. */
export async function stop(child, { signal = 'SIGTERM', graceMs = 5000 } = {}) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  killGroup(child.pid, signal);
  const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
  const exit = await child.exited;
  clearTimeout(timer);
  killGroup(child.pid, 'SIGKILL'); // anything left in the group
  return exit;
}

/** One GET on a fresh connection; resolves with the status, or undefined on error (the shipped package's). */
export { probe };

/** Polls every `everyMs` until GET answers below 500; resolves with ms waited. Throws after `timeoutMs`. */
export async function waitHttp(port, { path = '/', timeoutMs = 15000, everyMs = 2, child } = {}) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`process exited before answering on ${port}:\n${child.output().slice(-2000)}`);
    }
    const status = await probe(port, path);
    if (status !== undefined && status < 500) return performance.now() - t0;
    await sleep(everyMs);
  }
  throw new Error(`nothing answered on 127.0.0.1:${port}${path} within ${timeoutMs} ms${child ? `:\n${child.output().slice(-2000)}` : ''}`);
}
