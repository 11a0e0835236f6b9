/** Reloads caused by one file, within STORM_WINDOW_MS and with nothing promoted, that make a storm. */
export const STORM_CHANGES = 5;
export const STORM_WINDOW_MS = 10_000;

/**
 * Tells a reload storm from editing: a file that caused STORM_CHANGES reloads within
 * STORM_WINDOW_MS while no generation was promoted is being rewritten by something (a
 * log, the gateway's own output), not saved by a person, whose saves get served. Each
 * file is reported once.
 */
export class StormDetector {
  readonly #changes = new Map<string, number[]>();
  readonly #reported = new Set<string>();

  /** These files changed and caused a reload at `now` (ms); returns those that just became a storm. */
  changed(files: readonly string[], now: number): string[] {
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

  /** A generation was promoted: the changes so far were served, counting starts over. */
  promoted(): void {
    this.#changes.clear();
  }
}
