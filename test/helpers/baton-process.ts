import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');
export const FIXTURE = path.join(ROOT, 'test/fixtures/gateway.mjs');

/** One JSON event line from `baton --json`. */
export type Event = { type: string; gen?: number; [key: string]: unknown };

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A real `baton` CLI process run with --json, its events parsed as they arrive. */
export class BatonProcess {
  readonly child: ChildProcess;
  readonly events: Event[] = [];
  stderr = '';
  stdout = '';
  readonly exited: Promise<ExitResult>;
  #listeners = new Set<() => void>();

  private constructor(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, detached = false, bin?: string) {
    const [file, argv] = bin ? [bin, [...args]] : [process.execPath, [CLI, ...args]];
    this.child = spawn(file, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        this.events.push(JSON.parse(line) as Event);
      }
      for (const wake of this.#listeners) wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Starts `baton --json <args>`; `detached`: in a process group of its own, as a terminal
   * or an IDE starts it. Unless the args say otherwise, `--keep-previous 0`: an old
   * generation stops as soon as it has drained, as the tests of the drain expect (the
   * rollback window has tests of its own, in experiments.test.ts).
   */
  static start(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean } = {}): BatonProcess {
    const end = args.indexOf('--');
    const own = end === -1 ? args : args.slice(0, end);
    const keep = own.includes('--keep-previous') ? [] : ['--keep-previous', '0'];
    return new BatonProcess(['--json', ...keep, ...args], options.cwd ?? ROOT, options.env ?? process.env, options.detached);
  }

  /** Starts the CLI with exactly these args (no --json added); `bin`: another copy of the command (an installed one). */
  static raw(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; bin?: string } = {}): BatonProcess {
    return new BatonProcess(args, options.cwd ?? ROOT, options.env ?? process.env, false, options.bin);
  }

  /** Resolves with the first event (from index `from`) matching `match`. */
  waitFor(match: (e: Event) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<Event> {
    const timeoutMs = options.timeoutMs ?? 20_000;
    let index = options.from ?? 0;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (; index < this.events.length; index++) {
          if (match(this.events[index]!)) {
            done();
            resolve(this.events[index]!);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching event within ${timeoutMs} ms; events: ${JSON.stringify(this.events.filter((e) => e.type !== 'output')).slice(-2000)}\nstderr: ${this.stderr.slice(-1000)}`));
      }, timeoutMs);
      const onExit = (): void => {
        check();
        done();
        reject(new Error(`baton exited before the event; stderr: ${this.stderr.slice(-1000)}`));
      };
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        this.child.off('exit', onExit);
      };
      this.#listeners.add(check);
      this.child.once('exit', onExit);
      check();
    });
  }

  /** Waits for generation `gen` to be serving. */
  serving(gen: number, timeoutMs?: number): Promise<Event> {
    return this.waitFor((e) => e.type === 'serving' && e.gen === gen, { timeoutMs });
  }

  /** The public URL from the `listening` event. */
  async url(): Promise<string> {
    const e = await this.waitFor((ev) => ev.type === 'listening');
    return e.url as string;
  }

  /** Pids of grandchildren the fixture gateway reported spawning (`spawnChild`: "child <pid>"). */
  grandchildPids(): number[] {
    return this.events
      .filter((e) => e.type === 'output' && /^child \d+$/.test(e.line as string))
      .map((e) => Number((e.line as string).split(' ')[1]));
  }

  /** Pids of every gateway process baton reported starting. */
  gatewayPids(): number[] {
    return this.events.filter((e) => e.type === 'starting' && typeof e.pid === 'number').map((e) => e.pid as number);
  }

  /** Sends a signal and waits for exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** Test teardown: whatever state it is in, make sure nothing is left. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    for (const pid of this.gatewayPids()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
  }
}

/** True while a process with this pid exists (zombies excluded). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie still answers kill(0); /proc tells the truth.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}
