import { execa, type ResultPromise } from 'execa';
import { shellQuote } from '../presets/preset.js';
import { resolveProgram } from './command.js';
import { INSTANCE_SPAWN } from './gateway-process.js';
import { signalGroup, trackGroup, untrackGroup } from './process-groups.js';

/**
 * The shell a standby runs: it waits for one line (the instance's folder, its own
 * variables and its command, shell-quoted) and runs it, `exec` at the end, so the gateway
 * takes over the shell's pid, process group and output pipes. End of input without a line
 * (baton discarding it) exits.
 */
const SCRIPT = 'IFS= read -r line || exit 0; eval "$line"';
/** What the standby is called in `ps`, so a person looking at processes can tell. */
const NAME = 'baton-standby';
/** A name a shell can `export` (BATON_PORT_METRICS, BATON_CONFIG, PORT…). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The instance a standby is asked to become. */
export interface Becoming {
  file: string;
  args: readonly string[];
  cwd: string;
  /** Variables on top of the environment the standby was started with. */
  env: Readonly<Record<string, string>>;
}

/**
 * A process started ahead of time that becomes the next gateway instance when asked.
 *
 * Starting a process costs baton 5–9 ms of blocked event loop at its size (the fork copies
 * the page tables of an 80 MiB process, and execa sets up its pipes), on the path from a
 * save to the new instance serving. A standby pays that while nothing waits: at a reload,
 * the instance starts with one write to a pipe. It is an `sh` waiting on its stdin, in its
 * own process group, tracked like an instance (killed with baton, even by the lifeline).
 *
 * It is used only when the line says exactly what a direct spawn would do: the program
 * resolves on PATH (so "program not found" is still the spawn's own error), no argument
 * holds a line break, every variable name can be exported. Otherwise the caller spawns.
 */
export class Standby {
  readonly #subprocess: ResultPromise;
  /** The environment it was started with: it can only become an instance of that environment. */
  readonly baseEnv: NodeJS.ProcessEnv;
  #used = false;
  #exited = false;

  constructor(baseEnv: NodeJS.ProcessEnv, cwd: string) {
    this.baseEnv = baseEnv;
    this.#subprocess = execa('sh', ['-c', SCRIPT, NAME], { ...INSTANCE_SPAWN, cwd, env: baseEnv, stdin: 'pipe' });
    const pid = this.#subprocess.pid;
    if (pid !== undefined) trackGroup(pid);
    void this.#subprocess.then(() => {
      this.#exited = true;
      // Used, the instance owns the group now (gateway-process.ts untracks it).
      if (!this.#used && pid !== undefined) untrackGroup(pid);
    });
    // A standby discarded before it read its line: a broken pipe is expected.
    this.#subprocess.stdin?.on('error', () => {});
  }

  /** Still waiting for its line. */
  get ready(): boolean {
    return !this.#used && !this.#exited && this.#subprocess.pid !== undefined;
  }

  /**
   * The shell line that makes it `what`, or undefined when a direct spawn must be used
   * instead: it is no longer waiting, or the line would not mean what the spawn would (see
   * the class comment). The program is looked up on the PATH it will run with.
   */
  line(what: Becoming): string | undefined {
    if (!this.ready) return undefined;
    if (resolveProgram(what.file, what.cwd, { PATH: what.env.PATH ?? this.baseEnv.PATH }) === undefined) return undefined;
    const words = [what.file, ...what.args];
    if (words.some((word) => /[\n\r\0]/.test(word)) || /[\n\r\0]/.test(what.cwd)) return undefined;
    const vars = Object.entries(what.env);
    if (vars.some(([name, value]) => !ENV_NAME.test(name) || /[\n\r\0]/.test(value))) return undefined;
    const exports = vars.length === 0 ? '' : `export ${vars.map(([name, value]) => `${name}=${shellQuote(value)}`).join(' ')} && `;
    return `cd -- ${shellQuote(what.cwd)} && ${exports}exec ${words.map(shellQuote).join(' ')}`;
  }

  /** Hands over: the shell runs `line` and becomes the instance. Returns its subprocess (stdout, stderr, exit). */
  become(line: string): ResultPromise {
    this.#used = true;
    this.#subprocess.stdin!.end(`${line}\n`);
    return this.#subprocess;
  }

  /** Not needed any more: it exits (its input ends; a kill of its group if that is not enough). */
  discard(): void {
    if (this.#used) return;
    this.#used = true;
    this.#subprocess.stdin?.end();
    const pid = this.#subprocess.pid;
    if (pid !== undefined && !this.#exited) signalGroup(pid, 'SIGKILL');
  }
}

/** How long after a promotion the next standby is started: the switch and the first answers go first. */
const REFILL_AFTER_MS = 150;

/**
 * The one standby baton keeps for its next instance: offered to each spawn, started again
 * a little after each promotion, discarded at shutdown (or when the environment it was
 * started with is no longer the one instances get).
 */
export class StandbyKeeper {
  #standby: Standby | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /**
   * The standby to offer a spawn of an instance with `env` (GatewaySpec.standby), if one is
   * waiting; one started with another environment, or already used, is let go. Once used
   * it is no longer ready, so the next promotion starts another.
   */
  offer(env: NodeJS.ProcessEnv): Standby | undefined {
    const standby = this.#standby;
    if (standby?.ready && standby.baseEnv === env) return standby;
    standby?.discard(); // (a used one is the instance now: discard leaves it alone)
    this.#standby = undefined;
    return undefined;
  }

  /** A generation was promoted: a standby for the next save is started shortly, if none is waiting. */
  refillSoon(env: NodeJS.ProcessEnv, cwd: string): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed || this.#standby?.ready) return;
      this.#standby = new Standby(env, cwd);
    }, REFILL_AFTER_MS);
    this.#timer.unref();
  }

  /** No more instances: the waiting standby exits. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#standby?.discard();
    this.#standby = undefined;
  }
}
