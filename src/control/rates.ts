import type { Baton } from '../lifecycle/baton.js';
import { difference, percentileOf } from '../observe/log-histogram.js';

/** One second of one generation's traffic. */
export interface Sample {
  /** End of the second, ms since the epoch. */
  t: number;
  gen: number;
  requests: number;
  errors: number;
  p99Ms: number | null;
}

/** Samples kept: five minutes. */
const KEEP_SECONDS = 300;

/**
 * Per-second traffic of each serving or draining generation, taken from its counters
 * once a second (not per request): req/s, 5xx/s, and p99 over that second (the
 * difference of two histogram snapshots). The dashboard's chart reads these.
 */
export class Rates {
  readonly #baton: Baton;
  readonly #timer: NodeJS.Timeout;
  readonly #before = new Map<number, { requests: number; errors: number; buckets: Uint32Array }>();
  readonly samples: Sample[] = [];

  constructor(baton: Baton) {
    this.#baton = baton;
    this.#timer = setInterval(() => this.#tick(), 1000).unref();
  }

  /** The latest second of `gen`, if it served then. */
  last(gen: number): Sample | undefined {
    for (let i = this.samples.length - 1; i >= 0 && i >= this.samples.length - 50; i--) if (this.samples[i]!.gen === gen) return this.samples[i];
    return undefined;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const now = Date.now();
    for (const stats of this.#baton.liveStats()) {
      const before = this.#before.get(stats.gen) ?? { requests: 0, errors: 0, buckets: new Uint32Array(stats.stats.total.counts.length) };
      const buckets = stats.stats.total.snapshot();
      const window = difference(buckets, before.buckets);
      const p99 = percentileOf(window.counts, window.total, 99);
      this.samples.push({ t: now, gen: stats.gen, requests: stats.stats.requests - before.requests, errors: stats.stats.errors - before.errors, p99Ms: Number.isNaN(p99) ? null : Math.round(p99 * 1000) / 1000 });
      this.#before.set(stats.gen, { requests: stats.stats.requests, errors: stats.stats.errors, buckets });
    }
    const oldest = now - KEEP_SECONDS * 1000;
    while (this.samples.length > 0 && this.samples[0]!.t < oldest) this.samples.shift();
  }
}
