import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Baton } from './lifecycle/baton.js';
import { usageError } from './errors.js';
import { flagValue, type ConfigRendering } from './presets/preset.js';
import { checkPair, type PublicCertificate } from './proxy/public-tls.js';
import { choosePreset, type PresetChoice, type PresetName, type PresetSettings } from './presets/index.js';

/** A control plane started with baton (the admin API and dashboard: control/admin-server.ts). */
export interface ControlPlane {
  /** Its URL, for the `listening` event. */
  readonly url: string;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A public port baton holds besides the main one (a metrics or admin listener of the
 * gateway's): each instance gets a private port of that name (`{port:<name>}` in the
 * command, `BATON_PORT_<NAME>` in its environment) and the public one follows the
 * serving generation, switched and drained with the main port.
 */
export interface SidePort {
  /** The public port. `0` picks a free one (the `listening` event names it). */
  port: number;
  /** Lower-case letters, digits and `_`, starting with a letter: `metrics`, `admin`. */
  name: string;
}

/** How a healthy candidate becomes the serving generation (docs/experiments.md). */
export interface ExperimentOptions {
  /** A public port that reaches the candidate waiting for promotion (else the serving generation). */
  preview?: number;
  /** `manual`: a healthy candidate waits for `promote()` (the p key, POST /api/promote). @default 'auto' */
  promote?: 'auto' | 'manual';
  /** How long the previous generation stays alive, taking no new requests, for an instant rollback, ms. @default 30000 */
  keepPrevious?: number;
  /** Replay recent safe requests to the candidate and twice to the serving generation, and compare. @default 'off' */
  verify?: 'off' | 'report' | 'gate';
  /** At most this many requests replayed. @default 50 */
  verifyRequests?: number;
  /** Methods replayed (never with a body). @default ['GET', 'HEAD'] */
  verifyMethods?: readonly string[];
  /** Response fields compared besides status and body. @default ['content-type'] */
  verifyHeaders?: readonly string[];
  /** What makes `gate` reject: a status class change (`class`), an answer turned 5xx (`5xx`), any difference (`any`). @default 'class' */
  verifyGate?: 'class' | '5xx' | 'any';
  /** For this long before promotion, copies of live safe requests also go to the candidate, ms. @default 0 */
  mirror?: number;
  /** Canary steps, percent of new requests: `[10, 50]`. @default [] */
  canary?: readonly number[];
  /** How long each canary step (and each guard check) is analysed, ms. @default 10000 */
  canaryInterval?: number;
  /** The least share of non-5xx answers a candidate may give, percent. @default 99 */
  canarySuccess?: number;
  /** The candidate's p99 may be at most the baseline's times this... @default 1.5 */
  canaryP99Factor?: number;
  /** ...or this many ms, whichever is more. @default 50 */
  canaryP99Floor?: number;
  /** Analyse the new generation during keepPrevious and roll back by itself when it fails. @default on with canary steps */
  guard?: boolean;
}

/** Experiment options after defaults and checks. */
export interface ResolvedExperiments {
  preview: number | undefined;
  promote: 'auto' | 'manual';
  keepPrevious: number;
  verify: 'off' | 'report' | 'gate';
  verifyRequests: number;
  verifyMethods: readonly string[];
  verifyHeaders: readonly string[];
  verifyGate: 'class' | '5xx' | 'any';
  mirror: number;
  canary: readonly number[];
  canaryInterval: number;
  canarySuccess: number;
  canaryP99Factor: number;
  canaryP99Floor: number;
  guard: boolean;
}

/** What a caller of the API (or the CLI, after parsing flags) gives baton. */
export interface BatonOptions {
  /**
   * The gateway command as argv: `['caddy', 'run', '--config', 'Caddyfile']`.
   * `{port}` in any argument is replaced by the instance's private port.
   */
  command: readonly string[];
  /** Public port baton holds. `0` picks a free one. @default 8080 */
  port?: number;
  /** Address the public port is bound to. @default '127.0.0.1' */
  host?: string;
  /** Side ports to hold besides `port` (a preset may add its own). @default [] */
  sidePorts?: readonly SidePort[];
  /**
   * The instances listen in TLS on their private ports: probe and proxy in TLS from the
   * first one. Without it baton finds out from the first probe (and a preset may set it). @default false
   */
  upstreamTls?: boolean;
  /** A PEM file of the CA the instances' certificates must chain to; without it they are not verified (loopback). */
  upstreamCa?: string;
  /** Serve HTTPS (and HTTP/2) on the public port with this certificate (PEM), with `tlsKey`. */
  tlsCert?: string;
  /** The private key (PEM) of `tlsCert`. */
  tlsKey?: string;
  /**
   * `self-signed`: serve HTTPS with a certificate for localhost made under `.baton/tls/`;
   * `off`: plain HTTP even when a preset found the gateway's own certificate.
   */
  tls?: 'self-signed' | 'off';
  /** Reload experiments (docs/experiments.md): preview, manual promotion, rollback, verify, mirror, canary. */
  experiments?: ExperimentOptions;
  /**
   * Files or folders to watch. @default the config file named in the command
   * (`-c`, `--config`, `--config=FILE`), else the working folder.
   */
  watch?: readonly string[];
  /** Extra paths to ignore (globs: `*`, `**`, `?`). Editor temp files, `.git` and `node_modules` are always ignored. */
  ignore?: readonly string[];
  /**
   * Inside watched folders, leave out what their .gitignore files (and those above them,
   * up to the repository root) ignore. A file named in `watch` is watched regardless. @default true
   */
  gitignore?: boolean;
  /** HTTP path polled on a new instance; any status < 500 means ready. @default '/' */
  health?: string;
  /**
   * Shell command run beside each new instance as it starts; the instance is promoted
   * only once it has exited 0, and a non-zero exit rejects the change.
   */
  check?: string;
  /** How long a new instance may take to become healthy, in ms. @default 30000 */
  readyTimeout?: number;
  /** How long an old instance may finish in-flight work, in ms. @default 30000 */
  drainTimeout?: number;
  /** Grace between SIGTERM and SIGKILL for a stopping instance, in ms. @default 5000 */
  stopTimeout?: number;
  /** Quiet time after a change before reloading, in ms. @default 50 */
  debounce?: number;
  /** Poll files (every 100 ms) instead of waiting for file-system events, which bind mounts and network folders may not deliver. @default false */
  poll?: boolean;
  /**
   * Plain HTTP/1.1 requests are read and forwarded by baton itself (src/fast-path);
   * `false` sends every request through node:http, slower, as a fallback. @default true
   */
  fastPath?: boolean;
  /**
   * The request inspector's memory, MiB: the most recent requests with their heads and
   * the first `recordBody` KiB of each body, the oldest dropped first. 0 turns it off
   * (the counts per generation are kept regardless). @default 2
   */
  record?: number;
  /** How much of each request and response body the inspector keeps, KiB. @default 16 */
  recordBody?: number;
  /** Folder the gateway and the check run in; relative paths resolve against it. @default process.cwd() */
  cwd?: string;
  /**
   * Starts a control plane once the public port is bound (the CLI passes the admin API
   * and dashboard, `adminServer()` from control/admin-server.ts, unless `--admin off`).
   * The library alone starts none.
   */
  controlPlane?: (baton: Baton) => Promise<ControlPlane>;
  /** Environment for the gateway and the check. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Gateway preset: `auto` detects KrakenD or Caddy from the command, `none` turns presets
   * off. A preset only fills in what these options leave unset. @default 'auto'
   */
  preset?: PresetChoice;
}

/** Options `Baton.update` changes while running (an edit of baton.config.json); any other needs a restart. */
export type LiveOptions = Pick<BatonOptions, 'command' | 'health' | 'check' | 'readyTimeout' | 'drainTimeout' | 'stopTimeout' | 'debounce'>;
export const LIVE_KEYS = ['command', 'health', 'check', 'readyTimeout', 'drainTimeout', 'stopTimeout', 'debounce'] as const satisfies ReadonlyArray<keyof LiveOptions>;

/** Options after defaults and validation: what the rest of baton reads. */
export interface ResolvedOptions {
  command: readonly string[];
  port: number;
  host: string;
  /** The user's side ports, then the preset's (one per name). */
  sidePorts: readonly SidePort[];
  /** The config file each instance reads in a rewritten copy (a preset's), if any. */
  rendering: ConfigRendering | undefined;
  /** Probe and proxy in TLS from the first instance. */
  upstreamTls: boolean;
  /** The CA that verifies the instances' certificates (read from `upstreamCa`). */
  upstreamCa: Buffer | undefined;
  /** What the public port serves HTTPS with: a certificate read from files, one to make (`self-signed`), or none (plain HTTP). */
  publicTls: PublicCertificate | 'self-signed' | undefined;
  experiments: ResolvedExperiments;
  watch: readonly string[];
  ignore: readonly string[];
  gitignore: boolean;
  health: string;
  check: string | undefined;
  readyTimeout: number;
  drainTimeout: number;
  stopTimeout: number;
  debounce: number;
  poll: boolean;
  fastPath: boolean;
  record: number;
  recordBody: number;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The config file the gateway command names (`-c FILE`), absolute, when baton watches it. */
  commandConfig: string | undefined;
  /** The preset applied, if any. */
  preset: PresetName | undefined;
  /** What the preset filled in, for the start-up report. */
  presetApplied: string[];
  /** Things to tell the user at start (from the preset). */
  warnings: string[];
}

export const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  health: '/',
  readyTimeout: 30_000,
  drainTimeout: 30_000,
  stopTimeout: 5_000,
  debounce: 50,
  record: 2,
  recordBody: 16,
  keepPrevious: 30_000,
} as const;

/** Normalises options once, up front: defaults, absolute paths, range checks. */
export function resolveOptions(options: BatonOptions): ResolvedOptions {
  if (options.command.length === 0 || options.command[0] === '') {
    throw usageError('no gateway command given', 'put it after --, e.g. baton -- caddy run --config Caddyfile');
  }
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const port = checkPort(options.port ?? DEFAULTS.port);
  const preset = choosePreset(options.preset ?? 'auto', options.command);
  const given = preset?.settings({ command: options.command, cwd, env }) ?? {};
  const applied = presetReport(given, options);
  const command = given.command ?? [...options.command];
  const health = options.health ?? given.health ?? DEFAULTS.health;
  if (!health.startsWith('/')) {
    throw usageError(`--health must be a path starting with /, got "${health}"`, 'e.g. --health /__health');
  }
  const named = findConfigFile(command);
  const watch = (options.watch?.length ? options.watch : given.watch?.length ? given.watch : [named ?? '.']).map((p) => path.resolve(cwd, p));
  const commandConfig = named === undefined ? undefined : watch.find((p) => p === path.resolve(cwd, named));
  // An explicit empty --check turns a preset's check off.
  const check = options.check !== undefined ? options.check.trim() || undefined : given.check;
  const sidePorts = checkSidePorts([...(options.sidePorts ?? []), ...(given.sidePorts ?? []).filter((p) => !options.sidePorts?.some((o) => o.name === p.name))], port);
  checkPortPlaceholders(command, sidePorts);
  return {
    command,
    port,
    host: options.host ?? DEFAULTS.host,
    sidePorts,
    rendering: given.rendering,
    upstreamTls: options.upstreamTls ?? given.upstreamTls ?? false,
    upstreamCa: options.upstreamCa === undefined ? undefined : readPem('--upstream-ca', path.resolve(cwd, options.upstreamCa)),
    publicTls: publicTls(options, given, cwd),
    experiments: resolveExperiments(options.experiments ?? {}, port),
    watch,
    ignore: [...(options.ignore ?? []), ...(given.ignore ?? [])],
    gitignore: options.gitignore ?? true,
    health,
    check,
    readyTimeout: checkDuration('--ready-timeout', options.readyTimeout ?? DEFAULTS.readyTimeout, 1),
    drainTimeout: checkDuration('--drain-timeout', options.drainTimeout ?? DEFAULTS.drainTimeout),
    stopTimeout: checkDuration('--stop-timeout', options.stopTimeout ?? DEFAULTS.stopTimeout),
    debounce: checkDuration('--debounce', options.debounce ?? DEFAULTS.debounce),
    poll: options.poll ?? false,
    fastPath: options.fastPath ?? true,
    record: checkSize('--record', options.record ?? DEFAULTS.record, 'MiB'),
    recordBody: checkSize('--record-body', options.recordBody ?? DEFAULTS.recordBody, 'KiB'),
    cwd,
    env,
    commandConfig,
    preset: preset?.name,
    presetApplied: applied,
    warnings: given.warnings ?? [],
  };
}

/** What the preset actually decided (settings the user's own options overrode are left out). */
function presetReport(given: PresetSettings, options: BatonOptions): string[] {
  const applied: string[] = [];
  if (given.command) applied.push(`command: ${given.command.join(' ')}`);
  if (given.health && options.health === undefined) applied.push(`health: ${given.health}`);
  if (given.check && options.check === undefined) applied.push(`check: ${given.check}`);
  if (given.watch?.length && !options.watch?.length) applied.push(`watch: ${given.watch.join(', ')}`);
  if (given.ignore?.length) applied.push(`ignore: ${given.ignore.join(', ')}`);
  const sides = given.sidePorts?.filter((p) => !options.sidePorts?.some((o) => o.name === p.name)) ?? [];
  if (given.upstreamTls && options.upstreamTls === undefined) applied.push('upstream TLS: the gateway listens in TLS');
  if (given.tlsCert && options.tls === undefined && options.tlsCert === undefined) applied.push(`HTTPS on the public port with the gateway's certificate ${given.tlsCert}`);
  if (sides.length > 0) applied.push(`side ports: ${sides.map((p) => `${p.port}:${p.name}`).join(', ')}${given.rendering ? ` (each instance reads a copy of ${given.rendering.file} with its own ports)` : ''}`);
  return applied;
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw usageError(`--port must be a whole number from 0 to 65535, got ${port}`, 'e.g. --port 8080 (0 picks a free port)');
  }
  return port;
}

function resolveExperiments(e: ExperimentOptions, port: number): ResolvedExperiments {
  const choice = <T extends string>(flag: string, value: T | undefined, choices: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (!choices.includes(value)) throw usageError(`${flag} must be ${choices.join(', ').replace(/, (?=[^,]*$)/, ' or ')}, got "${String(value)}"`, `e.g. ${flag} ${choices[choices.length - 1]}`);
    return value;
  };
  const canary = [...(e.canary ?? [])];
  for (const [i, step] of canary.entries()) {
    if (!Number.isFinite(step) || step <= 0 || step >= 100 || (i > 0 && step <= canary[i - 1]!)) {
      throw usageError(`--canary steps must be rising percentages between 0 and 100, got ${canary.join(',')}`, 'e.g. --canary 10,50 (then promotion takes the rest)');
    }
  }
  const ratio = (flag: string, value: number, min: number, max: number): number => {
    if (!Number.isFinite(value) || value < min || value > max) throw usageError(`${flag} must be a number from ${min} to ${max}, got ${value}`, `e.g. ${flag} ${max === 100 ? 99 : 1.5}`);
    return value;
  };
  const methods = (e.verifyMethods ?? ['GET', 'HEAD']).map((m) => m.toUpperCase());
  const unsafe = methods.filter((m) => !['GET', 'HEAD', 'OPTIONS'].includes(m));
  if (unsafe.length > 0) throw usageError(`--verify-methods may name only GET, HEAD and OPTIONS (a replayed request must change nothing), got ${unsafe.join(', ')}`, 'e.g. --verify-methods GET,HEAD');
  const preview = e.preview === undefined ? undefined : checkPort(e.preview);
  if (preview !== undefined && preview !== 0 && preview === port) throw usageError(`--preview ${preview} is the public port`, 'give the preview a port of its own, e.g. --preview 8079');
  return {
    preview,
    promote: choice('--promote', e.promote, ['auto', 'manual'] as const, 'auto'),
    keepPrevious: checkDuration('--keep-previous', e.keepPrevious ?? DEFAULTS.keepPrevious),
    verify: choice('--verify', e.verify, ['off', 'report', 'gate'] as const, 'off'),
    verifyRequests: checkSize('--verify-requests', e.verifyRequests ?? 50, 'requests'),
    verifyMethods: methods,
    verifyHeaders: (e.verifyHeaders ?? ['content-type']).map((h) => h.toLowerCase()),
    verifyGate: choice('--verify-gate', e.verifyGate, ['class', '5xx', 'any'] as const, 'class'),
    mirror: checkDuration('--mirror', e.mirror ?? 0),
    canary,
    canaryInterval: checkDuration('--canary-interval', e.canaryInterval ?? 10_000, 1),
    canarySuccess: ratio('--canary-success', e.canarySuccess ?? 99, 0, 100),
    canaryP99Factor: ratio('--canary-p99-factor', e.canaryP99Factor ?? 1.5, 1, 1000),
    canaryP99Floor: checkDuration('--canary-p99-floor', e.canaryP99Floor ?? 50),
    guard: e.guard ?? canary.length > 0,
  };
}

const TLS_MODES = ['self-signed', 'off'];

/** What the public port serves HTTPS with: the flags, else the preset's find (the gateway's own certificate), else nothing. */
function publicTls(options: BatonOptions, given: PresetSettings, cwd: string): PublicCertificate | 'self-signed' | undefined {
  if (options.tls !== undefined && !TLS_MODES.includes(options.tls)) {
    throw usageError(`--tls must be self-signed or off, got "${String(options.tls)}"`, 'e.g. --tls self-signed, or --tls-cert FILE --tls-key FILE for your own certificate');
  }
  const files = options.tlsCert !== undefined || options.tlsKey !== undefined;
  if (files && options.tls !== undefined) throw usageError(`--tls ${options.tls} and --tls-cert/--tls-key say different things`, 'give one of them');
  if (options.tls === 'off') return undefined;
  if (options.tls === 'self-signed') return 'self-signed';
  if (files) {
    if (options.tlsCert === undefined || options.tlsKey === undefined) throw usageError(`--${options.tlsCert === undefined ? 'tls-key' : 'tls-cert'} needs --${options.tlsCert === undefined ? 'tls-cert' : 'tls-key'} too`, 'give the certificate and its key: --tls-cert cert.pem --tls-key key.pem');
    return readPair(options.tlsCert, options.tlsKey, cwd, 'flags');
  }
  if (given.tlsCert && given.tlsKey) return readPair(given.tlsCert, given.tlsKey, cwd, 'preset');
  return undefined;
}

function readPair(certFile: string, keyFile: string, cwd: string, from: 'flags' | 'preset'): PublicCertificate {
  const flags = from === 'flags' ? '--tls-cert and --tls-key' : "the gateway's tls block (or --tls off)";
  const hint = from === 'flags' ? undefined : "fix the path in the gateway's tls block (relative to the working folder), or serve plain HTTP with --tls off";
  const cert = readPem(from === 'flags' ? '--tls-cert' : "the gateway's certificate", path.resolve(cwd, certFile), hint);
  const key = readPem(from === 'flags' ? '--tls-key' : "the gateway's key", path.resolve(cwd, keyFile), hint);
  checkPair(cert, key, certFile, keyFile, flags);
  return { cert, key, certFile, from };
}

/** A PEM file's bytes, or a usage error naming the flag. */
export function readPem(flag: string, file: string, hint = 'give the path of a PEM file'): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw usageError(`${flag} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, hint);
  }
  if (!bytes.includes('-----BEGIN ')) throw usageError(`${flag} ${file} is not a PEM file (no -----BEGIN line)`, 'give a PEM file (convert DER with: openssl x509 -inform der -in FILE -out FILE.pem)');
  return bytes;
}

const SIDE_PORT_NAME = /^[a-z][a-z0-9_]*$/;

function checkSidePorts(sides: readonly SidePort[], main: number): SidePort[] {
  const seen = new Set<string>();
  const ports = new Set<number>(main > 0 ? [main] : []);
  for (const side of sides) {
    if (!SIDE_PORT_NAME.test(side.name)) {
      throw usageError(`--side-port name must be lower-case letters, digits and _, starting with a letter, got "${side.name}"`, 'e.g. --side-port 9090:metrics');
    }
    if (!Number.isInteger(side.port) || side.port < 0 || side.port > 65535) {
      throw usageError(`--side-port ${side.name}: the public port must be a whole number from 0 to 65535, got ${side.port}`, 'e.g. --side-port 9090:metrics');
    }
    if (seen.has(side.name)) throw usageError(`--side-port ${side.name} is given twice`, 'give each side port a name of its own');
    if (side.port > 0 && ports.has(side.port)) throw usageError(`--side-port ${side.port}:${side.name}: port ${side.port} is already the public port or another side port`, 'give each side port a port of its own');
    seen.add(side.name);
    if (side.port > 0) ports.add(side.port);
  }
  return [...sides];
}

/** Every `{port:<name>}` in the command names a side port. */
function checkPortPlaceholders(command: readonly string[], sides: readonly SidePort[]): void {
  for (const text of command) {
    for (const match of text.matchAll(/\{port:([^}]*)\}/g)) {
      if (!sides.some((s) => s.name === match[1])) {
        throw usageError(`the command names {port:${match[1]}} but no side port is called ${match[1]}`, `declare it with --side-port <public port>:${match[1]}, or fix the placeholder`);
      }
    }
  }
}

/** Node timers cannot wait longer than this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkDuration(flag: string, ms: number, min = 0): number {
  if (!Number.isInteger(ms) || ms < min || ms > MAX_TIMER_MS) {
    throw usageError(`${flag} must be a whole number of milliseconds from ${min} to ${MAX_TIMER_MS}, got ${ms}`, `e.g. ${flag} 5000`);
  }
  return ms;
}

function checkSize(flag: string, size: number, unit: string): number {
  if (!Number.isInteger(size) || size < 0 || size > 4096) {
    throw usageError(`${flag} must be a whole number of ${unit} from 0 to 4096, got ${size}`, `e.g. ${flag} 8 (0 turns it off)`);
  }
  return size;
}

/** Programs whose `-c` is a script, not a config file. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'fish', 'busybox']);

/** The config file a gateway command names with `-c FILE`, `--config FILE` or `--config=FILE`. */
export function findConfigFile(command: readonly string[]): string | undefined {
  if (SHELLS.has(path.basename(command[0] ?? ''))) return undefined;
  return flagValue(command, ['-c', '--config']);
}

/** Parses a flag value as a whole number, with an error that names the flag. */
export function parseWholeNumber(flag: string, value: string, example: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw usageError(`${flag} must be a whole number >= 0, got "${value}"`, `e.g. ${flag} ${example}`);
  }
  return Number(value);
}
