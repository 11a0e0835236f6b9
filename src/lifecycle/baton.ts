import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import getPort from 'get-port';
import { runCheck, type CheckResult } from './check.js';
import { RenderedConfigs } from './rendered-configs.js';
import { StandbyKeeper } from './standby.js';
import { judge, mark, numbers, type StatsMark } from './experiments/analysis.js';
import { actualWeight, hasPhases, ManualGate, runPhases, type ExperimentsView, type PhasesOutcome, type PromotionHost } from './experiments/promotion.js';
import { checkProgram, requireProgram } from './command.js';
import { BatonError } from '../errors.js';
import type { BatonEvent, ReloadReason, ServedTotals } from '../events.js';
import { ConfigHistory, type GenerationFiles } from '../observe/config-history.js';
import { EventHistory } from '../observe/event-history.js';
import type { Observer } from '../observe/exchange-trace.js';
import { GenerationLog } from '../observe/generation-log.js';
import { GenerationStats } from '../observe/generation-stats.js';
import { RequestRing } from '../observe/request-ring.js';
import { FrontServer } from '../proxy/front-server.js';
import { describeExit, GatewayProcess, portClash } from './gateway-process.js';
import { Generation } from '../proxy/generation.js';
import { SpeaksTlsError, TlsHandshakeError, waitHealthy, waitListening, type ProbeFailure } from './health.js';
import { LIVE_KEYS, resolveOptions, type BatonOptions, type ControlPlane, type LiveOptions, type ResolvedOptions } from '../options.js';
import { PreviewRouter, Router } from '../proxy/router.js';
import type { UpstreamTls } from '../proxy/upstream-tls.js';
import { selfSigned, type PublicCertificate } from '../proxy/public-tls.js';
import { SideFronts, type BoundSide } from '../proxy/side-fronts.js';
import { shellQuote } from '../presets/preset.js';
import { STORM_CHANGES, STORM_WINDOW_MS, StormDetector } from '../watch/storm.js';
import { ConfigWatcher } from '../watch/watcher.js';

/** A gateway process together with the proxy's view of it. */
interface Instance {
  process: GatewayProcess;
  generation: Generation;
  servingSince: number;
  /** Set once retiring starts; resolves when the process is gone. */
  retired?: Promise<void>;
  stopping?: boolean;
}

/** `output`: what to show with a failure, when it is not the candidate's own (the check's). */
type Outcome = { kind: 'ready'; ms: number; tls: boolean } | { kind: 'aborted' } | { kind: 'failed'; reason: string; portClash: boolean; output?: string[] };

/**
 * A transition started from the watcher's early look: it may boot its instance, but it
 * promotes (or reports a failure) only once the debounce confirms the files held.
 */
interface Unconfirmed {
  held: Promise<boolean>;
  settle: (held: boolean) => void;
}

/** A request for a new generation, as the next transition will run it. */
interface Wanted {
  reason: ReloadReason;
  unconfirmed?: Unconfirmed;
}

/** Tries a candidate gets when its port was taken under it. */
const PORT_ATTEMPTS = 3;
/** Crash restarts in a row before baton waits for the next save. */
const MAX_CRASH_RESTARTS = 5;
/** An instance that served this long before crashing starts a fresh crash count. */
const STABLE_MS = 10_000;
/** The restart a void early start cut short comes this long after it (a crash loop's first backoff), never at once. */
const RESTART_AFTER_VOID_MS = 100;
/** A write's file event comes this long after it at most (chokidar: 1–3 ms, measured), with room for a loaded loop. */
const WRITE_TO_EVENT_MS = 50;
/** How long nothing may listen on an instance's port before baton says so. */
const PORT_HINT_MS = 3000;

/**
 * The orchestrator: the only part that knows the sequence
 * change → check → spawn → health → promote → drain → stop.
 * One transition runs at a time; a newer request abandons a candidate still starting.
 */
export class Baton extends EventEmitter<{ event: [BatonEvent] }> {
  #input: BatonOptions;
  #options: ResolvedOptions;
  readonly #router: Router;
  readonly #front: FrontServer;
  readonly #sides: SideFronts;
  /** How baton talks TLS to instances that listen in TLS (`--upstream-ca` verifies). */
  readonly #upstreamTls: UpstreamTls;
  /** Instances listen in TLS: asked for (`--upstream-tls`, a preset), or seen on one. */
  #speaksTls: boolean;
  /** What the public port serves HTTPS with, if it does. */
  #certificate: PublicCertificate | undefined;
  /** The previous generation, kept warm for a rollback (--keep-previous). */
  #previous: { instance: Instance; until: number; timer: NodeJS.Timeout; guard: NodeJS.Timeout | undefined; promotedMark: StatsMark } | undefined;
  /** Why the last rollback window ended, for a rollback asked too late. */
  #released: { gen: number; why: 'passed' | 'newer' | 'exited' | 'shutdown'; at: number } | undefined;
  /** The serving generation that crashed last, while nothing replaced it (a rollback names it). */
  #crashedGen: number | undefined;
  /** A healthy candidate is in its experiment phases (verify, mirror, canary, a manual wait). */
  #inPhases = false;
  /** A candidate waiting for a manual promotion (--promote manual). */
  readonly #gate = new ManualGate();
  /** The preview port (--preview), when there is one. */
  readonly #preview: FrontServer | undefined;
  #previewUrl: string | undefined;
  /** Each instance's copy of a config a preset rewrites (KrakenD's telemetry ports), if any. */
  readonly #rendered: RenderedConfigs | undefined;
  readonly #watcher: ConfigWatcher;
  #nextGen = 1;
  #serving: Instance | undefined;
  readonly #retiring = new Set<Instance>();
  #candidate: GatewayProcess | undefined;
  /** A shell started ahead of time that the next instance starts as (standby.ts). */
  readonly #standby = new StandbyKeeper();
  #candidateAbort: AbortController | undefined;
  #wanted: Wanted | undefined;
  /** The newest early change still waiting for the watcher's verdict. */
  #unconfirmed: Unconfirmed | undefined;
  /** An early change that came while a transition ran: it acts only if the verdict is held. */
  #earlyWaiting = false;
  /** When the newest instance was started (performance.now()), whatever became of it. */
  #lastSpawnAt = Number.NEGATIVE_INFINITY;
  #transitions: Promise<void> | undefined;
  #crashes = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #url = '';
  /** The `listening` event, once bound. */
  #listening: Extract<BatonEvent, { type: 'listening' }> | undefined;
  readonly #storms: StormDetector;
  /** Where the experiments stand (docs/experiments.md): a candidate waiting or in its canary, the previous generation kept for a rollback. */
  get experiments(): ExperimentsView {
    const step = this.#gate.canaryStep;
    const waiting = this.#gate.waiting ? (this.#router.preview?.id ?? null) : null;
    const kept = this.#previous;
    return {
      waiting,
      canary: step ? { gen: step.candidate.id, step: step.step, steps: step.steps, weight: step.weight, actualWeight: actualWeight(step) } : null,
      previous: kept ? { gen: kept.instance.generation.id, untilMs: Math.max(0, kept.until - Date.now()) } : null,
      preview: this.#previewUrl ?? null,
    };
  }

  /** What the data paths record into: the request inspector's ring, and what no generation answered. */
  readonly #observer: Observer;
  readonly #log = new GenerationLog();
  readonly #events = new EventHistory();
  readonly #history: ConfigHistory;
  #control: ControlPlane | undefined;

  constructor(options: BatonOptions) {
    super();
    this.#input = options;
    this.#options = resolveOptions(options);
    this.#router = new Router(this.options.readyTimeout);
    this.#storms = new StormDetector(this.options.watch);
    this.#observer = { ring: new RequestRing(this.options.record * 1024 * 1024, this.options.recordBody * 1024), unrouted: new GenerationStats() };
    this.#history = new ConfigHistory(this.options.cwd);
    const publicTls = this.options.publicTls;
    this.#front = new FrontServer({
      host: this.options.host,
      port: this.options.port,
      router: this.#router,
      fastPath: this.options.fastPath,
      observer: this.#observer,
      ...(publicTls ? { tls: publicTls === 'self-signed' ? true : publicTls } : {}),
    });
    this.#upstreamTls = { ca: this.options.upstreamCa };
    this.#speaksTls = this.options.upstreamTls;
    this.#certificate = typeof this.options.publicTls === 'object' ? this.options.publicTls : undefined;
    this.#rendered = this.options.rendering ? new RenderedConfigs(this.options.rendering, this.options.cwd) : undefined;
    const preview = this.options.experiments.preview;
    this.#preview =
      preview === undefined
        ? undefined
        : new FrontServer({
            host: this.options.host,
            port: preview,
            router: new PreviewRouter(this.#router),
            fastPath: this.options.fastPath,
            observer: this.#observer,
            portFlag: `--preview ${preview}`,
            ...(publicTls ? { tls: publicTls === 'self-signed' ? true : publicTls } : {}),
          });
    this.#sides = new SideFronts(this.options.sidePorts, { host: this.options.host, router: this.#router, fastPath: this.options.fastPath });
    this.#watcher = new ConfigWatcher({
      paths: this.options.watch,
      ignore: this.options.ignore,
      cwd: this.options.cwd,
      debounceMs: this.options.debounce,
      poll: this.options.poll,
      gitignore: this.options.gitignore,
    });
    this.#watcher.on('change', (files, early) => {
      this.#emit({ type: 'change', files, early });
      // A change only of files a storm just dropped is no reload: they are ignored from now on.
      if (this.#noticeStorms(files) === files.length) return;
      // An unconfirmed change never cuts a starting instance short: what the early look read
      // may be half a write (a gateway rewriting a file in the folder with the bytes it had,
      // say). It waits for the debounce's verdict, and only a held one supersedes.
      if (early && this.#transitions) {
        this.#earlyWaiting = true;
        return;
      }
      this.#request('change', early);
    });
    this.#watcher.on('settled', (held, burst) => {
      if (this.#earlyWaiting) {
        this.#earlyWaiting = false;
        // Held, it supersedes what runs. Void, the files may be back as they were, but an
        // instance started while they were being written may have read them half-written:
        // the newest one started, or the one serving, is started again from the files.
        const readMidWrite = (at: number | undefined): boolean => at !== undefined && at >= burst.from - WRITE_TO_EVENT_MS && at <= burst.to;
        if (held || readMidWrite(this.#lastSpawnAt) || readMidWrite(this.#serving?.process.spawnedAt)) this.#request('change');
        return;
      }
      const early = this.#unconfirmed;
      this.#unconfirmed = undefined;
      early?.settle(held);
    });
    this.#watcher.on('error', (err) => this.#emit({ type: 'warning', message: `watcher: ${err.message}` }));
  }

  /** The options in force (defaults applied); `update` changes some of them while running. */
  get options(): ResolvedOptions {
    return this.#options;
  }

  /**
   * Changes options while running, as an edit of baton.config.json does. Each applies
   * from the next generation (the command, `--health`, `--check`, `--ready-timeout`) or
   * at once (`--drain-timeout`, `--stop-timeout`, `--debounce`); a new command starts a
   * new generation. Throws E_USAGE for a bad value, changing nothing. Returns the keys
   * whose value changed.
   */
  update(changes: Partial<LiveOptions>): Array<keyof LiveOptions> {
    const input: BatonOptions = { ...this.#input, ...changes };
    const next = resolveOptions(input);
    const changed = LIVE_KEYS.filter((key) => JSON.stringify(next[key]) !== JSON.stringify(this.#options[key]));
    this.#input = input;
    this.#options = next;
    this.#router.holdTimeoutMs = next.readyTimeout;
    this.#watcher.debounceMs = next.debounce;
    if (changed.includes('command') && !this.#closing) this.reload('config');
    return changed;
  }

  /** What the control plane reads: the generations, the event history, the request ring, the files each started from. */
  get observed(): { generations: GenerationLog; events: EventHistory; requests: RequestRing; unrouted: GenerationStats; files: ConfigHistory } {
    return { generations: this.#log, events: this.#events, requests: this.#observer.ring, unrouted: this.#observer.unrouted, files: this.#history };
  }

  /** The generations alive now (serving, or draining), with their counters. */
  liveStats(): Array<{ gen: number; stats: GenerationStats }> {
    return [this.#serving, ...this.#retiring].filter((i) => i !== undefined).map((i) => ({ gen: i.generation.id, stats: i.generation.stats }));
  }

  /** The generation serving now, for a request the control plane sends itself (a replay). */
  get servingTarget(): { gen: number; host: string; port: number; tls: UpstreamTls | undefined } | undefined {
    const serving = this.#serving?.generation;
    return serving && { gen: serving.id, ...serving.target, tls: serving.tls };
  }

  /** The public URL, once listening. */
  get url(): string {
    return this.#url;
  }

  /**
   * What the public side holds besides the main port, as the `listening` event said it
   * (empty before), and whether baton talks TLS to the gateway instances.
   */
  get ports(): { sidePorts: Array<{ name: string; port: number; url: string }>; tls: { certificate: string; from: 'flags' | 'preset' | 'self-signed' } | null; preview: string | null; upstreamTls: boolean } {
    const listening = this.#listening;
    return { sidePorts: listening?.sidePorts ?? [], tls: listening?.tls ?? null, preview: listening?.preview ?? null, upstreamTls: this.#speaksTls };
  }

  /** Validates the programs and watch paths, binds the public port, then starts generation 1. */
  async start(): Promise<{ url: string; port: number }> {
    const { command, cwd, env, check } = this.options;
    requireProgram(command[0]!, cwd, env, 'gateway');
    const checker = check === undefined ? undefined : checkProgram(check);
    if (checker !== undefined) requireProgram(checker, cwd, env, 'check');
    const named = this.options.commandConfig;
    if (named !== undefined && !existsSync(named)) {
      throw new BatonError('E_GATEWAY_CONFIG', `the config file the gateway command names does not exist: ${named}`, 'create it, or fix the path after -c/--config in the command (baton watches that file)');
    }
    await this.#watcher.start();
    let bound: { url: string; port: number };
    let sides: BoundSide[];
    try {
      if (this.options.publicTls === 'self-signed') this.#certificate = await selfSigned(cwd);
      if (this.#certificate) this.#front.useCertificate(this.#certificate);
      bound = await this.#front.listen();
    } catch (err) {
      await this.#watcher.close();
      throw err;
    }
    try {
      sides = await this.#sides.listen();
      if (this.#preview) {
        if (this.#certificate) this.#preview.useCertificate(this.#certificate);
        this.#previewUrl = (await this.#preview.listen()).url;
      }
    } catch (err) {
      await Promise.allSettled([this.#front.destroy(), this.#sides.destroy(), this.#watcher.close()]);
      throw err;
    }
    this.#url = bound.url;
    if (this.#input.controlPlane) {
      try {
        this.#control = await this.#input.controlPlane(this);
      } catch (err) {
        await Promise.allSettled([this.#front.destroy(), this.#sides.destroy(), this.#preview?.destroy(), this.#watcher.close()]);
        throw err;
      }
    }
    this.#listening = { type: 'listening', ...bound, command, watch: this.options.watch, ...(this.#control ? { admin: this.#control.url } : {}), ...(sides.length > 0 ? { sidePorts: sides } : {}), ...(this.#certificate ? { tls: { certificate: this.#certificate.certFile, from: this.#certificate.from } } : {}), ...(this.#previewUrl ? { preview: this.#previewUrl } : {}) };
    this.#emit(this.#listening);
    if (this.options.preset) this.#emit({ type: 'preset', name: this.options.preset, applied: this.options.presetApplied });
    for (const message of this.options.warnings) this.#emit({ type: 'warning', message });
    this.#request('start');
    return bound;
  }

  /** Starts a new generation with the current files, as a save would. */
  reload(source: 'signal' | 'key' | 'api' | 'config' = 'api'): void {
    if (this.#closing) return;
    this.#emit({ type: 'reload', source });
    this.#request('manual');
  }

  /**
   * Promotes the candidate waiting for a manual promotion (--promote manual), or in a
   * canary step (the rest of the canary is skipped): the p key, POST /api/promote.
   * Returns why it cannot when none waits.
   */
  promote(): string | undefined {
    if (this.#gate.settle('promote')) return undefined;
    return 'no candidate is waiting for promotion or in a canary (with --promote manual, a healthy candidate waits once a generation serves)';
  }

  /** Stops the candidate waiting for promotion, or in its canary, verify or mirror phase: the a key, POST /api/abort. */
  abort(): string | undefined {
    if (this.#gate.settle('abort')) return undefined;
    if (this.#router.preview && this.#candidateAbort) {
      this.#candidateAbort.abort();
      return undefined;
    }
    return 'no candidate is waiting for promotion or in a canary';
  }

  /**
   * Switches new traffic back to the previous generation, kept warm for --keep-previous:
   * the b key, POST /api/rollback. The rolled-back generation drains and stops. Returns why
   * it cannot when there is nothing to roll back to.
   */
  rollback(reason = 'asked for'): string | undefined {
    const kept = this.#previous;
    const current = this.#serving;
    if (!kept || !kept.instance.process.alive) {
      const last = this.#released;
      if (!last) return `nothing to roll back to: ${this.options.experiments.keepPrevious === 0 ? '--keep-previous is 0, so no previous generation is kept' : 'no generation was promoted over another yet'}`;
      const why = { passed: `--keep-previous (${this.options.experiments.keepPrevious} ms) passed`, newer: 'a newer generation started', exited: 'it exited', shutdown: 'baton is shutting down' }[last.why];
      return `nothing to roll back to: generation ${last.gen} was stopped when ${why}`;
    }
    clearTimeout(kept.timer);
    clearInterval(kept.guard);
    this.#previous = undefined;
    this.#serving = kept.instance;
    kept.instance.servingSince = Date.now();
    clearTimeout(this.#restartTimer); // the serving one crashed: the kept one replaces it, no restart
    this.#router.promote(kept.instance.generation);
    this.#emit({ type: 'rolled-back', gen: current?.generation.id ?? this.#crashedGen ?? kept.instance.generation.id, reason, serving: kept.instance.generation.id });
    if (current) void this.#retire(current);
    return undefined;
  }

  /** Graceful: stop accepting, let in-flight work finish, stop every instance. Idempotent. */
  close(signal?: string): Promise<void> {
    this.#closing ??= this.#close(signal);
    return this.#closing;
  }

  /** Hard: kill every instance and cut every connection now; a `killed` event names what was killed. */
  async destroy(): Promise<void> {
    this.#closing ??= Promise.resolve();
    clearTimeout(this.#restartTimer);
    this.#standby.close();
    this.#candidateAbort?.abort();
    clearTimeout(this.#previous?.timer);
    clearInterval(this.#previous?.guard);
    const all = [this.#candidate, this.#serving?.process, this.#previous?.instance.process, ...[...this.#retiring].map((i) => i.process)];
    const alive = all.filter((p): p is GatewayProcess => p !== undefined && p.alive);
    // Only once running: a start that failed (a port in use, say) has nothing to report here.
    if (this.#url) this.#emit({ type: 'killed', processes: alive.map((p) => ({ gen: p.generation, pid: p.pid })) });
    await Promise.allSettled([...all.map((p) => p?.destroy()), this.#front.destroy(), this.#sides.destroy(), this.#preview?.destroy(), this.#watcher.close(), this.#control?.destroy()]);
    this.#serving?.generation.destroy();
    this.#previous?.instance.generation.destroy();
    for (const inst of this.#retiring) inst.generation.destroy();
    this.#rendered?.close();
  }

  #request(reason: ReloadReason, early = false): void {
    if (this.#closing) return;
    // A running transition replaces the crashed instance; one already serving needs no restart.
    if (reason === 'crash' && (this.#transitions || this.#serving)) return;
    if (reason !== 'crash') this.#crashes = 0;
    clearTimeout(this.#restartTimer);
    this.#unconfirmed?.settle(false); // superseded before its verdict
    this.#unconfirmed = early ? unconfirmed() : undefined;
    this.#wanted = { reason, unconfirmed: this.#unconfirmed };
    this.#candidateAbort?.abort(); // newest files win
    this.#transitions ??= this.#runTransitions();
  }

  async #runTransitions(): Promise<void> {
    try {
      while (this.#wanted && !this.#closing) {
        const wanted = this.#wanted;
        this.#wanted = undefined;
        await this.#transition(wanted).catch((err: unknown) => this.#transitionFailed(err));
      }
    } finally {
      this.#transitions = undefined;
    }
  }

  /**
   * One attempt at a new generation: check, spawn, health, promote. An early
   * (unconfirmed) transition boots its instance during the debounce but promotes it, or
   * reports a failure, only once the watcher confirms the files held; a void verdict
   * abandons it quietly (it may have read half a save).
   */
  async #transition({ reason, unconfirmed }: Wanted): Promise<void> {
    const abort = new AbortController();
    this.#candidateAbort = abort;
    void unconfirmed?.held.then((held) => held || abort.abort());
    // Shut down or superseded before the verdict: stop waiting for it.
    abort.signal.addEventListener('abort', () => unconfirmed?.settle(false), { once: true });
    /** Whether the files this generation started from are the settled ones. */
    const held = async (): Promise<boolean> => (unconfirmed ? await unconfirmed.held : true) && !abort.signal.aborted;
    // A new generation ends the rollback window: a rollback would go to the one serving now.
    this.#release('newer');
    // Instances already being stopped go first, so a burst of saves never stacks processes.
    // (An idle one is about to stop; one still finishing requests is not waited for.)
    await Promise.all([...this.#retiring].filter((i) => i.stopping || i.generation.inflight === 0).map((i) => i.retired));
    if (abort.signal.aborted) return;
    const gen = this.#nextGen++;
    const down = this.#router.down;
    if (!this.#serving) this.#router.hold(`generation ${gen} to start`);
    const abandoned = (): void => {
      // A void early change with nothing after it: requests are refused as before it, and a
      // restart after a crash that it cut short (requests were held for it) is scheduled again.
      if (!this.#serving && !this.#wanted) {
        if (down !== undefined) this.#router.refuse(down);
        else if (this.#crashedGen !== undefined && reason !== 'crash') this.#restartTimer = setTimeout(() => this.#request('crash'), RESTART_AFTER_VOID_MS);
      }
      this.#emit({ type: 'abandoned', gen });
    };
    let checking: Promise<CheckResult> | undefined;
    const checkFailed = new AbortController();
    let files: GenerationFiles | undefined;
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      const port = await this.#privatePort();
      const sidePorts = await this.#privateSidePorts(port);
      // A preset's rewritten copy of the config, with this instance's side ports in it.
      const config = this.#rendered?.write(gen, sidePorts);
      if (attempt === 1 && this.options.check !== undefined) {
        // The check runs while the candidate boots; promotion needs both. A failing check stops
        // the candidate at once, and the rejection gives the check's output. It is spawned
        // first: promotion waits for whichever ends last, and that is often the check
        // (`caddy validate` takes about as long as Caddy's start; spawned second it cost a
        // save 30–40 ms more in bench/reload.mjs).
        const env = config === undefined ? this.options.env : { ...this.options.env, BATON_CONFIG: config };
        checking = runCheck(this.options.check, { ...this.options, env, generation: gen, timeoutMs: this.options.readyTimeout, signal: abort.signal });
        // (A check that throws fails the transition where it is awaited, below.)
        checking.then((result) => result.ok || checkFailed.abort(), () => checkFailed.abort());
      }
      const candidate = this.#spawn(gen, port, sidePorts, config);
      // What the files are, and what changed since the generation before (once, not per port retry).
      files ??= this.#history.record(gen, this.#watcher.files());
      this.#emit({ type: 'starting', gen, port, pid: candidate.pid, reason, ...(files.changes.length > 0 ? { changes: files.changes } : {}), ...(files.endpoints ? { endpoints: files.endpoints } : {}) });
      let outcome = await this.#awaitReady(candidate, abort.signal, checkFailed.signal);
      const checked = await checking;
      if (abort.signal.aborted) outcome = { kind: 'aborted' };
      else if (checked && !checked.ok) outcome = { kind: 'failed', reason: checked.reason, portClash: false, output: checked.output };
      if (outcome.kind !== 'aborted' && !(await held())) outcome = { kind: 'aborted' };
      if (outcome.kind === 'ready') {
        if (candidate.alive) return this.#afterReady(candidate, outcome.ms, outcome.tls, abort.signal);
        outcome = { kind: 'failed', reason: `${describeExit(candidate.exit!)} right after becoming healthy`, portClash: false };
      }
      this.#candidate = undefined;
      const retry = outcome.kind === 'failed' && outcome.portClash && attempt < PORT_ATTEMPTS;
      const output = outcome.kind === 'failed' ? (outcome.output ?? candidate.tail()) : [];
      // Held requests learn the verdict now, not after the candidate has finished stopping.
      if (outcome.kind === 'failed' && !retry) this.#refuseIfNothingServes(gen, reason, outcome.reason, output);
      await candidate.stop(this.options.stopTimeout);
      if (outcome.kind === 'aborted') return abandoned();
      if (retry) {
        this.#emit({ type: 'port-clash', gen, port });
        continue;
      }
      return this.#rejected(gen, reason, outcome.reason, output);
    }
  }

  /** A bug or an OS failure inside a transition must not take baton down with the serving instance. */
  #transitionFailed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const candidate = this.#candidate;
    this.#candidate = undefined;
    this.#candidateAbort?.abort(); // a --check still running beside the candidate
    void candidate?.destroy();
    this.#emit({ type: 'warning', message: `reload failed: ${message}` });
    if (!this.#serving) this.#router.refuse(`no gateway instance is serving: reload failed (${message})`);
  }

  /**
   * A file that keeps changing while the reload it caused is still settling is being
   * rewritten by something (a log, output the gateway writes at start), not saved by a
   * person (watch/storm.ts). Inside a watched folder it is dropped, so the next instance
   * can be served; a file named with --watch is only warned about. Returns how many of
   * `files` it dropped.
   */
  #noticeStorms(files: readonly string[]): number {
    let dropped = 0;
    // A healthy candidate in its experiment phases is not "starting": saves then are a person's edits.
    for (const file of this.#storms.changed(files, Date.now(), this.#transitions !== undefined && !this.#inPhases)) {
      const shown = path.relative(this.options.cwd, file) || file;
      const what = `${shown} changed ${STORM_CHANGES} times in ${STORM_WINDOW_MS / 1000} s, each time while a new generation was starting`;
      if (this.options.watch.includes(file)) {
        this.#emit({ type: 'warning', message: `${what}: saves come faster than the gateway starts, or something rewrites it; raise --debounce, or stop what rewrites it` });
        continue;
      }
      this.#watcher.drop(file);
      dropped++;
      this.#emit({ type: 'warning', message: `${what}: something rewrites it (a log file, or output the gateway writes at start). baton ignores it from now on; to keep it so, add --ignore ${shellQuote(shown)} (or a line in .gitignore)` });
    }
    return dropped;
  }

  #spawn(gen: number, port: number, sidePorts: Record<string, number>, config: string | undefined): GatewayProcess {
    const { cwd, env } = this.options;
    const command = config === undefined ? this.options.command : this.#rendered!.command(this.options.command, config);
    const extraEnv = config === undefined ? undefined : { BATON_CONFIG: config };
    const standby = this.#standby.offer(env);
    const candidate = new GatewayProcess({ generation: gen, command, port, sidePorts, cwd, env, standby, ...(extraEnv ? { extraEnv } : {}) });
    this.#lastSpawnAt = candidate.spawnedAt;
    candidate.on('line', (stream, line) => this.#emit({ type: 'output', gen, stream, line }));
    this.#candidate = candidate;
    return candidate;
  }

  async #privatePort(taken: readonly number[] = []): Promise<number> {
    const live = [this.#serving, this.#previous?.instance, ...this.#retiring].filter((i) => i !== undefined).flatMap((i) => [i.process.port, ...Object.values(i.process.sidePorts)]);
    const held = [this.options.port, this.options.experiments.preview ?? 0, ...this.options.sidePorts.map((s) => s.port)];
    // The OS hands out a free ephemeral port; the exclusions guard against a port just released.
    return getPort({ host: '127.0.0.1', exclude: [...held, ...live, ...taken].filter((p) => p > 0) });
  }

  /** A private port for each side port, none equal to the instance's main one or each other. */
  async #privateSidePorts(main: number): Promise<Record<string, number>> {
    const ports: Record<string, number> = {};
    for (const name of this.#sides.names) ports[name] = await this.#privatePort([main, ...Object.values(ports)]);
    return ports;
  }

  /**
   * Waits until the candidate is healthy, exits, times out, or is superseded; a failed
   * check (`checkFailed`) ends the wait as well, and the caller gives its verdict.
   */
  async #awaitReady(candidate: GatewayProcess, superseded: AbortSignal, checkFailed: AbortSignal): Promise<Outcome> {
    const started = Date.now();
    const stop = new AbortController();
    const onSuperseded = (): void => stop.abort();
    if (superseded.aborted || checkFailed.aborted) stop.abort();
    superseded.addEventListener('abort', onSuperseded);
    checkFailed.addEventListener('abort', onSuperseded);
    void candidate.exited.then(onSuperseded);
    const timer = setTimeout(onSuperseded, this.options.readyTimeout);
    let lastProbe = 'no probe answered yet';
    let lastKind: ProbeFailure | 'side' | undefined;
    // Side ports are promoted with the main one, so each must be taken before the switch;
    // they are waited for beside the health probe, not after it (each wait is a connect).
    const sides = Object.entries(candidate.sidePorts);
    const sidesPending = new Set(sides.map(([name]) => name));
    // Whether to probe (and then proxy) in TLS: asked for, or learnt from an earlier generation.
    let tls = this.#speaksTls;
    // Tell, don't wait: a gateway that ignores its port is named long before --ready-timeout.
    const hint = setTimeout(() => {
      if (lastKind === 'refused' && candidate.alive) {
        this.#emit({ type: 'warning', gen: candidate.generation, message: `gen ${candidate.generation}: nothing listens on :${candidate.port} after ${PORT_HINT_MS / 1000} s — does the gateway take its port from {port} or $PORT?` });
      }
    }, PORT_HINT_MS);
    try {
      const onFailure = (why: string, kind: ProbeFailure): void => {
        lastProbe = why;
        lastKind = kind;
      };
      // A line from the gateway (often "listening on …") sends the next probe at once.
      const nudge = (wake: () => void): (() => void) => {
        candidate.on('line', wake);
        return () => candidate.off('line', wake);
      };
      const sidesListening = Promise.all(sides.map(([name, port]) => waitListening(port, stop.signal, nudge).then(() => sidesPending.delete(name))));
      sidesListening.catch(() => {}); // awaited once healthy; an abort ends it before then
      try {
        await waitHealthy({ port: candidate.port, path: this.options.health, signal: stop.signal, onFailure, nudge, ...(tls ? { tls: this.#upstreamTls } : {}) });
      } catch (err) {
        if (!(err instanceof SpeaksTlsError) || tls) throw err;
        // It listens in TLS: talk TLS to it from now on, this generation and the ones after.
        tls = true;
        await waitHealthy({ port: candidate.port, path: this.options.health, signal: stop.signal, onFailure, nudge, tls: this.#upstreamTls });
      }
      if (sidesPending.size > 0) lastKind = 'side';
      await sidesListening;
      if (candidate.alive && !superseded.aborted) return { kind: 'ready', ms: Date.now() - started, tls };
    } catch (err) {
      if (err instanceof TlsHandshakeError && !superseded.aborted && !checkFailed.aborted) {
        return { kind: 'failed', reason: tlsFailure(candidate.port, err, this.options.upstreamCa !== undefined, this.options.upstreamTls), portClash: false };
      }
      // Otherwise why it stopped waiting is read from the state below.
    } finally {
      stop.abort(); // side ports still awaited when the wait ends otherwise (a TLS failure)
      clearTimeout(timer);
      clearTimeout(hint);
      superseded.removeEventListener('abort', onSuperseded);
      checkFailed.removeEventListener('abort', onSuperseded);
    }
    if (superseded.aborted || checkFailed.aborted) return { kind: 'aborted' };
    if (candidate.exit) {
      const tail = candidate.tail();
      const clash = portClash(tail, [candidate.port, ...Object.values(candidate.sidePorts)]);
      const said = clash?.line ?? errorLine(tail);
      const other = clash && !clash.own ? otherPortHint(clash.port) : '';
      const reason = `${describeExit(candidate.exit)} before becoming healthy${said ? `: ${said}` : ''}${other}`;
      return { kind: 'failed', reason, portClash: clash?.own === true };
    }
    if (lastKind === 'side') {
      // The first side port that never took a connection (named when the wait ended).
      const [name, port] = sides.find(([n]) => sidesPending.has(n)) ?? sides[0]!;
      return {
        kind: 'failed',
        reason: `not ready within ${this.options.readyTimeout} ms: healthy, but side port ${name} (:${port}) accepts no connection; does the gateway take it from {port:${name}} or $BATON_PORT_${name.toUpperCase()}?`,
        portClash: false,
      };
    }
    const hintText =
      lastKind === 'answered'
        ? `it answers, but not below 500: does --health name a path that answers when the gateway is ready?`
        : `does the gateway listen on 127.0.0.1 (or all addresses) at {port} or $PORT?`;
    return {
      kind: 'failed',
      reason: `not healthy within ${this.options.readyTimeout} ms (GET ${this.options.health}: ${lastProbe}); ${hintText}`,
      portClash: false,
    };
  }

  /** The proxy's view of a healthy candidate, its side ports attached; counted from now (preview and canary traffic too). */
  #generationOf(process: GatewayProcess, tls: boolean): Generation {
    if (tls && !this.#speaksTls) this.#learntTls(process.generation);
    const generation = new Generation(process.generation, process.port, tls ? { tls: this.#upstreamTls } : {});
    this.#sides.attach(generation, process.sidePorts);
    this.#log.attach(process.generation, generation);
    return generation;
  }

  /**
   * A healthy candidate: promoted at once, or first through the experiment phases
   * (experiments/promotion.ts) when any is configured and a generation serves to compare
   * with. The first generation is promoted at once: there is nothing to try it against.
   */
  async #afterReady(process: GatewayProcess, ms: number, tls: boolean, superseded: AbortSignal): Promise<void> {
    const generation = this.#generationOf(process, tls);
    const serving = this.#serving;
    if (!serving || !hasPhases(this.options.experiments)) return this.#promote(process, ms, generation);
    // The phases stop when a newer save, an abort or shutdown supersedes it, when it dies,
    // or when the generation it is compared with crashes.
    const stop = new AbortController();
    const onStop = (): void => stop.abort();
    superseded.addEventListener('abort', onStop, { once: true });
    void process.exited.then(onStop);
    serving.process.once('exit', onStop);
    let outcome: PhasesOutcome;
    this.#inPhases = true;
    try {
      outcome = await runPhases(this.#promotionHost(), generation, serving.generation, this.#gate, stop.signal);
    } catch (err) {
      this.#router.forget(generation); // nothing of it stays reachable (preview, pin, canary share)
      throw err;
    } finally {
      this.#inPhases = false;
      superseded.removeEventListener('abort', onStop);
      serving.process.off('exit', onStop);
    }
    if (outcome.kind === 'promote' && process.alive && !superseded.aborted && this.#serving === serving) return this.#promote(process, ms, generation);
    // The serving generation crashed during the phases: the healthy candidate replaces it at
    // once, as a running transition replaces a crashed instance (the restart is not needed).
    if (this.#serving === undefined && !this.#closing && process.alive && !superseded.aborted) {
      clearTimeout(this.#restartTimer);
      return this.#promote(process, ms, generation);
    }
    this.#router.forget(generation);
    this.#candidate = undefined;
    const instance: Instance = { process, generation, servingSince: 0 };
    if (outcome.kind === 'rolled-back') {
      this.#emit({ type: 'rolled-back', gen: generation.id, reason: outcome.reason, serving: serving.generation.id });
      return void this.#retire(instance);
    }
    if (outcome.kind === 'reject') {
      this.#emit({ type: 'rejected', gen: generation.id, reason: outcome.reason, output: [], serving: serving.generation.id });
      return void this.#retire(instance);
    }
    if (!process.alive) {
      this.#emit({ type: 'rejected', gen: generation.id, reason: `${describeExit(process.exit!)} while it waited for promotion`, output: process.tail(), serving: serving.generation.id });
      generation.destroy();
      return;
    }
    this.#emit({ type: 'abandoned', gen: generation.id });
    return void this.#retire(instance);
  }

  #promotionHost(): PromotionHost {
    return {
      experiments: this.options.experiments,
      router: this.#router,
      observer: this.#observer,
      ring: this.#observer.ring,
      publicAuthority: new URL(this.#url).host,
      previewUrl: this.#previewUrl,
      emit: (event) => this.#emit(event),
    };
  }

  #promote(process: GatewayProcess, ms: number, generation: Generation): void {
    this.#candidate = undefined;
    this.#crashedGen = undefined;
    const previous = this.#serving;
    const instance: Instance = { process, generation, servingSince: Date.now() };
    this.#serving = instance;
    this.#storms.promoted(Date.now());
    this.#router.promote(instance.generation);
    this.#emit({ type: 'serving', gen: process.generation, ms, ...(generation.tls ? { tls: true } : {}) });
    this.#standby.refillSoon(this.options.env, this.options.cwd);
    void process.exited.then(() => this.#onExit(instance));
    if (!previous) return;
    if (this.options.experiments.keepPrevious > 0 && !this.#closing) this.#keepWarm(previous, instance);
    else void this.#retire(previous);
  }

  /**
   * The previous generation after a promotion: it takes no new requests and finishes
   * what it has, as a draining one does, but stays alive for --keep-previous, so
   * `rollback()` can switch new traffic back at once. The window ends when it passes,
   * when the next transition starts, or at shutdown. With --guard, the new generation is
   * analysed against it meanwhile, and a failure rolls back by itself.
   */
  #keepWarm(previous: Instance, promoted: Instance): void {
    this.#emit({ type: 'draining', gen: previous.generation.id, inflight: previous.generation.inflight, keptMs: this.options.experiments.keepPrevious });
    const until = Date.now() + this.options.experiments.keepPrevious;
    const timer = setTimeout(() => this.#release('passed'), this.options.experiments.keepPrevious);
    const guard = this.options.experiments.guard ? setInterval(() => this.#guardCheck(), this.options.experiments.canaryInterval) : undefined;
    this.#previous = { instance: previous, until, timer, guard, promotedMark: mark(promoted.generation.stats) };
    void previous.process.exited.then(() => this.#previous?.instance === previous && this.#release('exited'));
  }

  /** The rollback window ends: the previous generation is stopped. */
  #release(why: 'passed' | 'newer' | 'exited' | 'shutdown'): void {
    const kept = this.#previous;
    if (!kept) return;
    clearTimeout(kept.timer);
    clearInterval(kept.guard);
    this.#previous = undefined;
    this.#released = { gen: kept.instance.generation.id, why, at: Date.now() };
    this.#router.forget(kept.instance.generation);
    void this.#retire(kept.instance, true);
  }

  /** The post-promotion guard: the new generation's last window against the previous one's life as the serving generation. */
  #guardCheck(): void {
    const kept = this.#previous;
    const serving = this.#serving;
    if (!kept || !serving) return;
    const e = this.options.experiments;
    const verdict = judge(numbers(serving.generation.stats, kept.promotedMark), numbers(kept.instance.generation.stats), { success: e.canarySuccess, p99Factor: e.canaryP99Factor, p99FloorMs: e.canaryP99Floor });
    kept.promotedMark = mark(serving.generation.stats);
    this.#emit({ type: 'analysis', gen: serving.generation.id, phase: 'guard', ...verdict });
    if (!verdict.passed) this.rollback(`guard: ${verdict.reason}`);
  }

  /** The first instance found to listen in TLS: the next ones are probed in TLS at once, and the user learns what baton chose. */
  #learntTls(gen: number): void {
    this.#speaksTls = true;
    const verify = this.options.upstreamCa ? 'verifying its certificate with --upstream-ca' : 'its certificate is not verified on loopback; --upstream-ca <file> verifies it';
    const front = this.#certificate ? '' : `; the public port serves plain HTTP: for HTTPS there, give --tls-cert and --tls-key (the gateway's own certificate, say) or --tls self-signed`;
    this.#emit({ type: 'warning', gen, message: `gen ${gen} listens in TLS on its private port: baton talks TLS to it (${verify}); --upstream-tls says so up front${front}` });
  }

  #rejected(gen: number, reason: ReloadReason, why: string, output: string[]): void {
    const serving = this.#serving?.generation.id;
    this.#emit({ type: 'rejected', gen, reason: why, output, serving });
    if (serving === undefined && reason === 'crash') return this.#scheduleRestart(gen, why, output);
    this.#refuseIfNothingServes(gen, reason, why, output);
  }

  /** With nothing serving and no restart coming, requests are answered 503 with the reason. */
  #refuseIfNothingServes(gen: number, reason: ReloadReason, why: string, output: string[]): void {
    if (this.#serving || reason === 'crash') return;
    this.#router.refuse(unavailableText(gen, why, output));
  }

  /** Drains an instance that no longer takes new requests, then stops it. */
  #retire(instance: Instance, announced = false): Promise<void> {
    instance.retired ??= (async () => {
      this.#retiring.add(instance);
      const { generation, process } = instance;
      // No longer live: `baton-generation` cannot reach it (503 naming the live ones), its requests drain.
      this.#router.forget(generation);
      const started = Date.now();
      if (!announced) this.#emit({ type: 'draining', gen: generation.id, inflight: generation.inflight });
      const idle = await Promise.all([generation.whenIdle(this.options.drainTimeout), this.#sides.whenIdle(generation, this.options.drainTimeout)]);
      const drained = idle.every(Boolean);
      // Only at shutdown is a retiring generation still the router's target.
      if (this.#router.current === generation) this.#router.refuse('baton is shutting down');
      instance.stopping = true;
      // Past the timeout, what is left is ended cleanly; either way our idle keep-alive
      // sockets close first, so a gateway that waits for its connections on SIGTERM exits at once.
      const cut = drained ? { streams: 0, requests: 0, websockets: 0 } : this.#sides.cut(generation, this.#front.cut(generation));
      generation.destroy();
      const { forced } = await process.stop(this.options.stopTimeout);
      generation.destroy();
      this.#retiring.delete(instance);
      this.#emit({ type: 'stopped', gen: generation.id, ms: Date.now() - started, forced, drainTimedOut: !drained, cut, served: servedTotals(generation.stats) });
    })();
    return instance.retired;
  }

  #onExit(instance: Instance): void {
    if (this.#serving !== instance || this.#closing) return;
    this.#serving = undefined;
    this.#crashedGen = instance.generation.id;
    this.#router.forget(instance.generation);
    instance.generation.destroy();
    if (Date.now() - instance.servingSince > STABLE_MS) this.#crashes = 0;
    this.#scheduleRestart(instance.generation.id, describeExit(instance.process.exit!), instance.process.tail());
  }

  /** Restarts with backoff after a crash; after MAX_CRASH_RESTARTS waits for the next save. */
  #scheduleRestart(gen: number, why: string, output: string[]): void {
    this.#crashes++;
    if (this.#crashes > MAX_CRASH_RESTARTS) {
      this.#emit({ type: 'crashed', gen, reason: why, output, restartInMs: undefined });
      this.#router.refuse(unavailableText(gen, `${why}; gave up after ${MAX_CRASH_RESTARTS} restarts in a row`, output));
      return;
    }
    const delay = Math.min(100 * 2 ** (this.#crashes - 1), 5000);
    this.#emit({ type: 'crashed', gen, reason: why, output, restartInMs: delay });
    this.#router.hold(`a restart after generation ${gen} crashed`);
    this.#restartTimer = setTimeout(() => this.#request('crash'), delay);
  }

  async #close(signal: string | undefined): Promise<void> {
    this.#emit({ type: 'shutdown', signal });
    clearTimeout(this.#restartTimer);
    this.#standby.close();
    this.#candidateAbort?.abort();
    if (!this.#router.current) this.#router.refuse('baton is shutting down');
    this.#release('shutdown');
    void this.#front.close();
    void this.#preview?.close();
    void this.#sides.close();
    await Promise.allSettled([this.#watcher.close(), this.#transitions]);
    const serving = this.#serving;
    this.#serving = undefined;
    if (serving) void this.#retire(serving);
    await Promise.allSettled([...this.#retiring].map((i) => i.retired));
    await Promise.allSettled([this.#front.destroy(), this.#sides.destroy(), this.#preview?.destroy()]);
    this.#rendered?.close();
    this.#emit({ type: 'closed' });
    await this.#control?.close();
  }

  #emit(event: BatonEvent): void {
    this.#log.apply(event);
    this.#events.add(event);
    this.emit('event', event);
  }
}

/** A generation's traffic for the `stopped` event. */
function servedTotals(stats: GenerationStats): ServedTotals {
  const ms = (v: number): number | null => (Number.isNaN(v) ? null : Math.round(v * 1000) / 1000);
  return { requests: stats.requests, statuses: { ...stats.statuses }, own: { ...stats.own }, p50Ms: ms(stats.total.percentile(50)), p99Ms: ms(stats.total.percentile(99)), bytesIn: stats.bytesIn, bytesOut: stats.bytesOut };
}

function unconfirmed(): Unconfirmed {
  let settle!: (held: boolean) => void;
  const held = new Promise<boolean>((resolve) => (settle = resolve));
  return { held, settle };
}

/** The gateway's own last error line (KrakenD's `ERROR parsing …`, a panic), to put in the reason. */
function errorLine(output: readonly string[]): string | undefined {
  const line = output.findLast((l) => /\b(error|fatal|panic)\b/i.test(l));
  return line?.trim().slice(0, 300);
}

/** Why an instance probed in TLS is rejected: the handshake failed, and what to check. */
function tlsFailure(port: number, err: TlsHandshakeError, verifying: boolean, forced: boolean): string {
  const certificate = /CERT|UNABLE_|SELF_SIGNED|DEPTH_ZERO|certificate/i.test(`${err.code} ${err.message}`);
  const hint =
    certificate && verifying
      ? 'its certificate does not chain to --upstream-ca: give the CA that signed it, or leave --upstream-ca out (loopback)'
      : forced
        ? 'does it listen in TLS there? For a plain-HTTP gateway, leave --upstream-tls out'
        : 'it answered plain HTTP the way a TLS server does, but completes no TLS handshake';
  return `the TLS handshake with its private port :${port} failed (${err.code}): ${hint}`;
}

/** Why a clash on a fixed port of the gateway's own (metrics, admin) cannot be retried away. */
function otherPortHint(port: number | undefined): string {
  const which = port === undefined ? 'another port' : `port ${port}`;
  return ` — ${which} is fixed in the gateway's config, and while two generations overlap only one can hold it: take it from the environment per instance, or turn it off while developing`;
}

function unavailableText(gen: number, why: string, output: string[]): string {
  const last = output.slice(-5).map((line) => `\n  ${line}`).join('');
  return `no gateway instance is serving: generation ${gen} ${why}${last}\nFix the configuration and save; baton tries again on the next change.`;
}
