import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';

/** A gateway (or other peer) a tool started, in a process group of its own. */
export interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once when it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 64 KiB it printed (stdout and stderr). */
  output(): string;
  readonly alive: boolean;
}

const live = new Set<Started>();
let hooked = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Starts `cmd args` in a process group of its own; every one left is SIGKILLed when this process exits. */
export function startProcess(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Started {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const started of live) killGroup(started.pid, 'SIGKILL');
    });
  }
  const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-65536);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  let alive = true;
  const started: Started = {
    child,
    pid: child.pid ?? -1,
    exited: new Promise((resolve) => {
      child.on('error', (err) => {
        keep(`${err.message}\n`);
        alive = false;
        live.delete(started);
        resolve({ code: null, signal: null });
      });
      child.on('exit', (code, signal) => {
        alive = false;
        live.delete(started);
        resolve({ code, signal });
      });
    }),
    output: () => output,
    get alive() {
      return alive;
    },
  };
  live.add(started);
  return started;
}

/** SIGTERM to the group, SIGKILL after `graceMs`; then anything left in the group. */
export async function stopProcess(started: Started, graceMs = 5000): Promise<void> {
  if (started.alive) {
    killGroup(started.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(started.pid, 'SIGKILL'), graceMs);
    await started.exited;
    clearTimeout(timer);
  }
  killGroup(started.pid, 'SIGKILL');
}

/** One GET on a fresh connection: the status, or undefined on a network error. */
export function probe(port: number, path = '/', timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Polls until GET `path` answers below 500; false when `started` exits or `timeoutMs` passes first. */
export async function answersBelow500(port: number, path: string, started: Started, timeoutMs: number): Promise<boolean> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (!started.alive) return false;
    const status = await probe(port, path);
    if (status !== undefined && status < 500) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

let ticksPerSecond: number | undefined;

/** User + system CPU time a process has used so far, in milliseconds (Linux /proc; NaN elsewhere). */
export function cpuMs(pid: number): number {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}
