/** Reloads caused by one file, each while the one before was still settling, within STORM_WINDOW_MS, that make a storm. */
export const STORM_CHANGES = 5;
export const STORM_WINDOW_MS = 10_000;
/** After a promotion, how long a change still counts as landing on the reload before it. */
export const SETTLING_MS = 250;

/**
 * Tells a reload storm from editing. A file that changed STORM_CHANGES times within
 * STORM_WINDOW_MS, each time while a new generation was starting or had just been
 * promoted, is being rewritten by something (a log, output the gateway writes at start),
 * not saved by a person: a person's saves come after the gateway has settled. With
 * nothing ever promoted (each change abandons the instance the last one started), every
 * change counts. Each file is reported once.
 */
export class StormDetector {
  readonly #changes = new Map<string, number[]>();
  readonly #reported = new Set<string>();

  /**
   * These files changed and caused a reload at `now` (ms); `settling`: a generation was
   * starting or had just been promoted. Returns the files that just became a storm.
   */
  changed(files: readonly string[], now: number, settling: boolean): string[] {
    if (!settling) return [];
    const storms: string[] = [];
    for (const file of files) {
      if (this.#reported.has(file)) continue;
      const times = (this.#changes.get(file) ?? []).filter((t) => now - t < STORM_WINDOW_MS);
      times.push(now);
      this.#changes.set(file, times);
      if (times.length >= STORM_CHANGES) {
        this.#reported.add(file);
        this.#changes.delete(file);
        storms.push(file);
      }
    }
    return storms;
  }
}
