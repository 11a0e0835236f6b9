import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'chokidar';
import path from 'node:path';
import { BatonError } from '../errors.js';
import { GitignoreRules } from './gitignore.js';
import { ignoreRules } from './ignore-rules.js';
import { ownOutputFiles } from './own-output.js';

export interface WatcherOptions {
  /** Absolute files or folders. */
  paths: readonly string[];
  ignore: readonly string[];
  cwd: string;
  debounceMs: number;
  /** Stat files on an interval instead of relying on file-system events. */
  poll: boolean;
  /** Leave out what the watched folders' .gitignore files ignore. @default true */
  gitignore?: boolean;
}

/** How often polling stats the watched files. */
export const POLL_INTERVAL_MS = 100;
/** How often a watched root that vanished is looked for again. */
const ROOT_RETURN_MS = 100;
/**
 * Quiet after a file event before the early look. One save is one event here (chokidar
 * reports a write or an atomic rename 1–3 ms after it, once); a save in several steps
 * that pauses longer than this is caught when the debounce ends (the early instance is
 * abandoned quietly and the settled files start another). Every ms here is paid by every
 * save, so it is short: 10 ms cost a tenth of baton's own save-to-serve.
 */
export const EARLY_QUIET_MS = 3;

type WatcherEvents = {
  /**
   * The content of these files differs from what was last seen. `early`: read after
   * only EARLY_QUIET_MS of quiet, before the debounce ended; a 'settled' follows.
   */
  change: [files: string[], early: boolean];
  /**
   * The debounce after an early change ended. `held`: each file the early look read had
   * no event since and still has the bytes it read, and each file first touched after it
   * has its settled bytes again, so the early change is the real one. Otherwise the early
   * change is void, and a 'change' follows if the files still differ from what was last
   * settled. `burst`: when (performance.now()) the burst's first and last file events
   * came, so a process started in between may have read a file half-written.
   */
  settled: [held: boolean, burst: { from: number; to: number }];
  error: [err: Error];
};

/** What the early look read, and the files with an event since it began. */
interface EarlyLook {
  digests: Map<string, string | null>;
  touched: Set<string>;
  /** A change was emitted for it (the files differed). */
  emitted: boolean;
}

/**
 * Watches files and reports a change only when bytes differ: a save that leaves a
 * file identical, a touch, or a flurry of events inside the debounce window is one
 * comparison, not one reload. It knows nothing about gateways.
 *
 * With a debounce longer than EARLY_QUIET_MS it also looks early: after that much
 * quiet it compares the files and reports an early change, so a new instance can boot
 * during the debounce; when the debounce ends, 'settled' says whether that early change
 * held. A save is then served after the longer of the debounce and the gateway's start,
 * not their sum.
 */
export class ConfigWatcher extends EventEmitter<WatcherEvents> {
  readonly #options: WatcherOptions;
  /** Quiet after a file event before comparing; changes apply from the next event. */
  debounceMs: number;
  /** Last seen content digest per file; null when the file is gone. */
  readonly #digests = new Map<string, string | null>();
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #earlyTimer: NodeJS.Timeout | undefined;
  /** The early look of the current burst; cleared when its debounce ends. */
  #early: EarlyLook | undefined;
  /** When the current burst's first and last file events came. */
  #burst = { from: 0, to: 0 };
  #flushing: Promise<void> | undefined;
  #watcher: FSWatcher | undefined;
  /** Watched roots that vanished (deleted, or their folder renamed), each with the timer looking for it. */
  readonly #vanished = new Map<string, NodeJS.Timeout>();
  /** Files no longer watched, though their folder is (a reload storm). */
  readonly #dropped = new Set<string>();
  #gitignore: GitignoreRules | undefined;
  #closed = false;

  constructor(options: WatcherOptions) {
    super();
    this.#options = options;
    this.debounceMs = options.debounceMs;
  }

  /** Checks every path exists, then resolves once the initial scan is done. */
  async start(): Promise<void> {
    const folders: string[] = [];
    for (const file of this.#options.paths) {
      try {
        if ((await stat(file)).isDirectory()) folders.push(file);
      } catch {
        throw new BatonError('E_WATCH_PATH', `watch path does not exist: ${file}`, 'create it, or point --watch at an existing file or folder');
      }
    }
    if (this.#options.gitignore !== false && folders.length > 0) this.#gitignore = new GitignoreRules(folders);
    const extras = { gitignore: this.#gitignore, ownOutput: ownOutputFiles(), dropped: this.#dropped };
    const initial: Array<Promise<void>> = [];
    const watcher = watch([...this.#options.paths], {
      ignored: ignoreRules(this.#options.ignore, this.#options.cwd, this.#options.paths, extras),
      ignoreInitial: false,
      atomic: true,
      usePolling: this.#options.poll,
      interval: POLL_INTERVAL_MS,
      binaryInterval: POLL_INTERVAL_MS,
    });
    this.#watcher = watcher;
    watcher.on('error', (err) => this.emit('error', err instanceof Error ? err : new Error(String(err))));
    await new Promise<void>((resolve) => {
      const onInitialAdd = (file: string): void => {
        initial.push(digest(file).then((d) => void this.#digests.set(file, d)));
      };
      watcher.on('add', onInitialAdd);
      watcher.once('ready', () => {
        watcher.off('add', onInitialAdd);
        for (const event of ['add', 'change', 'unlink'] as const) watcher.on(event, (file: string) => this.#touched(file));
        for (const event of ['unlink', 'unlinkDir'] as const) watcher.on(event, (file: string) => this.#maybeRootVanished(file));
        resolve();
      });
    });
    await Promise.all(initial);
  }

  /** Stops watching; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#earlyTimer);
    for (const timer of this.#vanished.values()) clearInterval(timer);
    this.#vanished.clear();
    await this.#watcher?.close();
    await this.#flushing;
  }

  /**
   * chokidar stops watching a root that disappears. Look for it until it is back, then
   * watch it again: its files come back as additions and are compared as usual.
   */
  #maybeRootVanished(file: string): void {
    if (this.#closed || !this.#options.paths.includes(file) || this.#vanished.has(file)) return;
    const timer = setInterval(() => {
      void stat(file).then(
        () => {
          clearInterval(timer);
          this.#vanished.delete(file);
          if (this.#closed) return;
          this.#watcher?.unwatch(file);
          this.#watcher?.add(file);
        },
        () => {},
      );
    }, ROOT_RETURN_MS);
    this.#vanished.set(file, timer);
  }

  /** The files watched now (those that exist). */
  files(): string[] {
    return [...this.#digests].filter(([, digest]) => digest !== null).map(([file]) => file);
  }

  /**
   * Stops reacting to `file`, inside a watched folder, for the rest of the run (a file
   * something keeps rewriting). A change of it still pending is dropped.
   */
  drop(file: string): void {
    this.#dropped.add(file);
    this.#pending.delete(file);
    this.#watcher?.unwatch(file);
  }

  #touched(file: string): void {
    if (this.#closed || this.#dropped.has(file)) return;
    // A .gitignore is not the gateway's: a change to it only changes what is watched.
    if (path.basename(file) === '.gitignore' && this.#gitignore) return this.#gitignore.changed(file);
    const now = performance.now();
    if (this.#pending.size === 0) this.#burst = { from: now, to: now };
    this.#burst.to = now;
    this.#pending.add(file);
    this.#early?.touched.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(() => this.#compare()), this.debounceMs);
    if (this.debounceMs > EARLY_QUIET_MS && !this.#early) {
      clearTimeout(this.#earlyTimer);
      this.#earlyTimer = setTimeout(() => this.#flush(() => this.#lookEarly()), EARLY_QUIET_MS);
    }
  }

  /** Comparisons run one after another, so an early look never overlaps the settling one. */
  #flush(step: () => Promise<void>): void {
    this.#flushing = (this.#flushing ?? Promise.resolve())
      .then(step)
      .catch((err: unknown) => void this.emit('error', err instanceof Error ? err : new Error(String(err))));
  }

  /** Reads the pending files without settling them; at most one early look per burst. */
  async #lookEarly(): Promise<void> {
    if (this.#early || this.#pending.size === 0 || this.#closed) return;
    const early: EarlyLook = { digests: new Map(), touched: new Set(), emitted: false };
    this.#early = early;
    const changed: string[] = [];
    const budget = { bytes: READ_AT_ONCE };
    for (const file of this.#pending) {
      const next = await digest(file, budget);
      early.digests.set(file, next);
      if (differs(this.#digests.get(file), next)) changed.push(file);
    }
    // A file event during the look: what was read may be half a save; the debounce decides.
    if (changed.length === 0 || early.touched.size > 0 || this.#closed) return;
    early.emitted = true;
    this.emit('change', changed, true);
  }

  async #compare(): Promise<void> {
    const files = [...this.#pending];
    const burst = this.#burst;
    this.#pending.clear();
    const early = this.#early;
    this.#early = undefined;
    clearTimeout(this.#earlyTimer);
    const changed: string[] = [];
    let held = early?.emitted === true;
    const budget = { bytes: READ_AT_ONCE };
    for (const file of files) {
      const next = await digest(file, budget);
      if (early && !heldSince(early, file, next, this.#digests.get(file))) held = false;
      if (!differs(this.#digests.get(file), next)) continue;
      this.#digests.set(file, next);
      changed.push(file);
    }
    if (this.#closed) return;
    if (early?.emitted) this.emit('settled', held, burst);
    if (changed.length > 0 && !held) this.emit('change', changed, false);
  }
}

/**
 * Whether `file` (now `next`) keeps an early look's change good. A file the look read
 * holds if no event came since and the bytes are what it read (an event, even one that
 * ends with the same bytes, may have let the new instance read half a write). A file
 * first touched after the look holds if its bytes are the settled ones: a write that
 * leaves a file as it was is no change, to an early instance as to a serving one (a
 * gateway that rewrites a file in the watched folder at start, say).
 */
function heldSince(early: EarlyLook, file: string, next: string | null, settled: string | null | undefined): boolean {
  if (early.digests.has(file)) return !early.touched.has(file) && early.digests.get(file) === next;
  return !differs(settled, next);
}

/** Whether a file's digest moved: a file never seen that cannot be read is no change. */
function differs(previous: string | null | undefined, next: string | null): boolean {
  return previous !== next && !(previous === undefined && next === null);
}

/**
 * Regular files are read at once (a config file), up to this many bytes per look or
 * comparison; past it, and for anything else (a FIFO), asynchronously. An asynchronous
 * read takes four turns of an event loop that, under load, is busy proxying, and that
 * wait is paid on every save before the new instance starts (docs/performance.md); the
 * budget bounds how long a burst of many files (a checkout) holds the proxy up.
 */
const READ_AT_ONCE = 1024 * 1024;

/** sha1 of a file's bytes; null when it cannot be read (deleted, or replaced mid-save). `budget`: bytes still to be read at once. */
async function digest(file: string, budget: { bytes: number } = { bytes: 0 }): Promise<string | null> {
  try {
    const info = statSync(file);
    const now = info.isFile() && info.size <= budget.bytes;
    if (now) budget.bytes -= info.size;
    const bytes = now ? readFileSync(file) : await readFile(file);
    return createHash('sha1').update(bytes).digest('hex');
  } catch {
    return null;
  }
}
