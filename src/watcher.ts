import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'chokidar';
import { BatonError } from './errors.js';
import { ignoreRules } from './ignore-rules.js';

export interface WatcherOptions {
  /** Absolute files or folders. */
  paths: readonly string[];
  ignore: readonly string[];
  cwd: string;
  debounceMs: number;
  /** Stat files on an interval instead of relying on file-system events. */
  poll: boolean;
}

/** How often polling stats the watched files. */
export const POLL_INTERVAL_MS = 100;
/** How often a watched root that vanished is looked for again. */
const ROOT_RETURN_MS = 100;

type WatcherEvents = {
  /** The content of these files differs from what was last seen. */
  change: [files: string[]];
  error: [err: Error];
};

/**
 * Watches files and reports a change only when bytes differ: a save that leaves a
 * file identical, a touch, or a flurry of events inside the debounce window is one
 * comparison, not one reload. It knows nothing about gateways.
 */
export class ConfigWatcher extends EventEmitter<WatcherEvents> {
  readonly #options: WatcherOptions;
  /** Last seen content digest per file; null when the file is gone. */
  readonly #digests = new Map<string, string | null>();
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #watcher: FSWatcher | undefined;
  /** Watched roots that vanished (deleted, or their folder renamed), each with the timer looking for it. */
  readonly #vanished = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(options: WatcherOptions) {
    super();
    this.#options = options;
  }

  /** Checks every path exists, then resolves once the initial scan is done. */
  async start(): Promise<void> {
    for (const file of this.#options.paths) {
      try {
        await stat(file);
      } catch {
        throw new BatonError('E_WATCH_PATH', `watch path does not exist: ${file}`, 'create it, or point --watch at an existing file or folder');
      }
    }
    const initial: Array<Promise<void>> = [];
    const watcher = watch([...this.#options.paths], {
      ignored: ignoreRules(this.#options.ignore, this.#options.cwd, this.#options.paths),
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

  #touched(file: string): void {
    if (this.#closed) return;
    this.#pending.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), this.#options.debounceMs);
  }

  /** Comparisons run one after another; each takes whatever is pending when it starts. */
  #flush(): void {
    this.#flushing = (this.#flushing ?? Promise.resolve())
      .then(() => this.#compare())
      .catch((err: unknown) => void this.emit('error', err instanceof Error ? err : new Error(String(err))));
  }

  async #compare(): Promise<void> {
    const files = [...this.#pending];
    this.#pending.clear();
    const changed: string[] = [];
    for (const file of files) {
      const next = await digest(file);
      const previous = this.#digests.get(file);
      if (previous === next || (previous === undefined && next === null)) continue;
      this.#digests.set(file, next);
      changed.push(file);
    }
    if (changed.length > 0 && !this.#closed) this.emit('change', changed);
  }
}

/** sha1 of a file's bytes; null when it cannot be read (deleted, or replaced mid-save). */
async function digest(file: string): Promise<string | null> {
  try {
    return createHash('sha1').update(await readFile(file)).digest('hex');
  } catch {
    return null;
  }
}
