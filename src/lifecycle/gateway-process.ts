import { EventEmitter } from 'node:events';
import { execa, type ResultPromise } from 'execa';
import { fillPort, sidePortEnv } from './command.js';
import { LineTail, onLines } from './output-lines.js';
import { signalGroup, trackGroup, untrackGroup } from './process-groups.js';
import type { Standby } from './standby.js';

export interface GatewaySpec {
  generation: number;
  /** The command as given by the user, `{port}` not yet filled in. */
  command: readonly string[];
  port: number;
  /** Its private side ports by name (`{port:<name>}`, `BATON_PORT_<NAME>`). */
  sidePorts?: Readonly<Record<string, number>>;
  /** Variables for this instance only, on top of `env` (`{port}` and `{port:<name>}` filled in). */
  extraEnv?: Readonly<Record<string, string>>;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** A standby started with `env` (standby.ts, StandbyKeeper.offer): the instance starts as it, when it can, instead of being spawned. */
  standby?: Standby | undefined;
}

/** `{port}` and `{port:<name>}` filled in each value. */
function fillEnv(env: Readonly<Record<string, string>> | undefined, port: number, sides: Readonly<Record<string, number>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).map(([name, value]) => [name, fillPort([value], port, sides)[0]!]));
}

/** How a gateway process ended. */
export interface GatewayExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  spawnError?: string;
}

export interface GatewayStopResult {
  /** True when SIGTERM was not enough and the group had to be SIGKILLed. */
  forced: boolean;
  ms: number;
}

type GatewayEvents = {
  line: [stream: 'stdout' | 'stderr', line: string];
  /** The process has exited (as `exited` resolves), for listeners that must be able to let go. */
  exit: [];
};

const TAIL_LINES = 12;

/**
 * How an instance process is started, directly or as a standby (standby.ts): its own
 * process group, exactly the environment given, output streamed (never buffered), no
 * rejection or kill of execa's own (baton stops the group itself).
 */
export const INSTANCE_SPAWN = { extendEnv: false, detached: true, buffer: false, reject: false, cleanup: false, forceKillAfterDelay: false } as const;

/**
 * One gateway process, started in its own process group so that stopping it
 * also stops whatever it spawned. It knows nothing about proxies or files.
 */
export class GatewayProcess extends EventEmitter<GatewayEvents> {
  readonly generation: number;
  readonly port: number;
  readonly sidePorts: Readonly<Record<string, number>>;
  /** When (performance.now()) it was started: it read its config files from then on. */
  readonly spawnedAt = performance.now();
  /** Resolves once when the process has ended, however it ended. */
  readonly exited: Promise<GatewayExit>;
  #exit: GatewayExit | undefined;
  #stopping: Promise<GatewayStopResult> | undefined;
  readonly #tail = new LineTail(TAIL_LINES);
  readonly #subprocess: ResultPromise;
  readonly #pgid: number | undefined;

  constructor(spec: GatewaySpec) {
    super();
    this.generation = spec.generation;
    this.port = spec.port;
    this.sidePorts = spec.sidePorts ?? {};
    const [file, ...args] = fillPort(spec.command, spec.port, this.sidePorts);
    const port = String(spec.port);
    const own = { ...fillEnv(spec.extraEnv, spec.port, this.sidePorts), PORT: port, BATON_PORT: port, BATON_GENERATION: String(spec.generation), ...sidePortEnv(this.sidePorts) };
    const line = spec.standby?.line({ file: file!, args, cwd: spec.cwd, env: own });
    this.#subprocess = line !== undefined ? spec.standby!.become(line) : execa(file!, args, { ...INSTANCE_SPAWN, cwd: spec.cwd, env: { ...spec.env, ...own }, stdin: 'ignore' });
    this.#pgid = this.#subprocess.pid;
    if (this.#pgid !== undefined) trackGroup(this.#pgid);
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = this.#subprocess[name];
      if (stream) onLines(stream, (line) => this.#onLine(name, line));
    }
    this.exited = this.#subprocess.then(async (result) => {
      const exit: GatewayExit = {
        code: result.exitCode ?? null,
        signal: result.signal ?? null,
        ...(result.failed && result.exitCode === undefined && !result.signal
          ? { spawnError: spawnErrorText(result.cause, file!) }
          : {}),
      };
      this.#exit = exit;
      if (this.#pgid !== undefined) {
        // The leader is gone; anything it left in its group goes with it.
        if (signalGroup(this.#pgid, 0)) {
          signalGroup(this.#pgid, 'SIGKILL');
          await groupGone(this.#pgid);
        }
        untrackGroup(this.#pgid);
      }
      return exit;
    });
    void this.exited.then(() => this.emit('exit'));
  }

  get pid(): number | undefined {
    return this.#pgid;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  get exit(): GatewayExit | undefined {
    return this.#exit;
  }

  /** The last lines the gateway printed, stdout and stderr interleaved. */
  tail(): string[] {
    return this.#tail.lines();
  }

  /**
   * Graceful stop: SIGTERM to the whole group, SIGKILL after `graceMs`.
   * Idempotent: every caller gets the same result.
   */
  stop(graceMs: number): Promise<GatewayStopResult> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  /** Hard stop: SIGKILL to the whole group now. */
  async destroy(): Promise<void> {
    if (this.#pgid !== undefined && this.alive) signalGroup(this.#pgid, 'SIGKILL');
    await this.exited;
  }

  async #stop(graceMs: number): Promise<GatewayStopResult> {
    const started = Date.now();
    if (!this.alive || this.#pgid === undefined) {
      await this.exited;
      return { forced: false, ms: 0 };
    }
    signalGroup(this.#pgid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const graceful = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(resolve, graceMs, false))),
    ]);
    clearTimeout(timer);
    if (!graceful) {
      signalGroup(this.#pgid, 'SIGKILL');
      await this.exited;
    }
    return { forced: !graceful, ms: Date.now() - started };
  }

  #onLine(stream: 'stdout' | 'stderr', line: string): void {
    this.#tail.push(line);
    this.emit('line', stream, line);
  }
}

/** Waits (up to 1 s) until a SIGKILLed group has no members left, so "stopped" means gone. */
async function groupGone(pgid: number): Promise<void> {
  for (let i = 0; i < 100 && signalGroup(pgid, 0); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

function spawnErrorText(cause: unknown, file: string): string {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `program not found: ${file}`;
  if (code === 'EACCES') return `program is not executable: ${file}`;
  return cause instanceof Error ? cause.message : `could not start ${file}`;
}

/** A one-line account of an exit, for rejection and crash messages. */
export function describeExit(exit: GatewayExit): string {
  if (exit.spawnError) return exit.spawnError;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

const PORT_CLASH = /EADDRINUSE|address already in use|port is already allocated/i;
/** A port named on a line: `host:port`, `:::port`, `port 9090`, `port: 9090`. */
const PORT_ON_LINE = /(?::|\bport[:= ]+)(\d{1,5})\b/gi;
/** How far from a clash message without a port a port may be printed (error dumps span lines). */
const NEAR = 400;

/** A port clash the gateway reported: the line that says so, the port it names, and whether that is the instance's own. */
export interface PortClash {
  line: string;
  port: number | undefined;
  /** The instance lost the race for its own private port: another port may work. */
  own: boolean;
}

/**
 * The port clash in a failed gateway's output, if it reported one. The clash line's own
 * port decides (Go: `listen tcp :9090: bind: address already in use`, Node:
 * `listen EADDRINUSE: address already in use 127.0.0.1:4000`); a clash line that names
 * none (a multi-line error dump) is the instance's own when its port is printed near it.
 * A clash on another port (metrics, admin) would clash again on any private port.
 */
export function portClash(lines: readonly string[], port: number | readonly number[]): PortClash | undefined {
  const own = typeof port === 'number' ? [port] : port;
  let first: PortClash | undefined;
  for (const [i, raw] of lines.entries()) {
    if (!PORT_CLASH.test(raw)) continue;
    const line = raw.trim().slice(0, 300);
    const ports = [...raw.matchAll(PORT_ON_LINE)].map((m) => Number(m[1]));
    // The last port on the line is the address's (a log line's time comes first: `12:34:56 listen tcp :9090: …`).
    const mine = ports.find((p) => own.includes(p));
    if (ports.length > 0) return { line, port: mine ?? ports[ports.length - 1], own: mine !== undefined };
    if (first) continue;
    const text = lines.join('\n');
    const at = lines.slice(0, i).join('\n').length;
    const near = text.slice(Math.max(0, at - NEAR), at + raw.length + NEAR);
    const printed = own.find((p) => new RegExp(`(?<![0-9])${p}(?![0-9])`).test(near));
    first = { line, port: printed, own: printed !== undefined };
  }
  return first;
}

/** True when a process that exited early looks like it lost a race for *its* port (see portClash). */
export function looksLikePortClash(lines: readonly string[], port: number): boolean {
  return portClash(lines, port)?.own === true;
}
