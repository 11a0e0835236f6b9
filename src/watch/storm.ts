/** Changes of one file, each while a reload was still settling, within STORM_WINDOW_MS, that make a storm. */
export const STORM_CHANGES = 5;
export const STORM_WINDOW_MS = 10_000;
/** After a promotion, how long a change still counts as landing on the reload before it. */
export const SETTLING_MS = 250;

/**
 * Tells a reload storm from editing. A file inside a watched folder that changed
 * STORM_CHANGES times within STORM_WINDOW_MS, each time while a new generation was
 * starting or had just been promoted, is being rewritten by something (a log, output the
 * gateway writes at start), not saved by a person: a person's saves come after the
 * gateway has settled. A file named with --watch is a person's (or a script's) to save
 * as fast as they like; it makes a storm only when nothing was promoted meanwhile, so
 * that no save gets served. Each file is reported once.
 */
export class StormDetector {
  readonly #roots: ReadonlySet<string>;
  readonly #changes = new Map<string, number[]>();
  readonly #reported = new Set<string>();
  #promotedAt = Number.NEGATIVE_INFINITY;

  /** `roots`: the files named with --watch. */
  constructor(roots: readonly string[]) {
    this.#roots = new Set(roots);
  }

  /** A generation was promoted at `now` (ms). */
  promoted(now: number): void {
    this.#promotedAt = now;
  }

  /**
   * These files changed and caused a reload at `now` (ms); `starting`: a new generation
   * was starting then. Returns the files that just became a storm.
   */
  changed(files: readonly string[], now: number, starting: boolean): string[] {
    if (!starting && now - this.#promotedAt >= SETTLING_MS) return [];
    const storms: string[] = [];
    for (const file of files) {
      if (this.#reported.has(file)) continue;
      const times = (this.#changes.get(file) ?? []).filter((t) => now - t < STORM_WINDOW_MS);
      times.push(now);
      this.#changes.set(file, times);
      if (times.length < STORM_CHANGES) continue;
      if (this.#roots.has(file) && this.#promotedAt >= times[times.length - STORM_CHANGES]!) continue;
      this.#reported.add(file);
      this.#changes.delete(file);
      storms.push(file);
    }
    return storms;
  }
}
