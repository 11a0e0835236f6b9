/** Smallest and largest value kept apart (ms); anything outside lands in the first or last bucket. */
const MIN_MS = 0.01;
const MAX_MS = 120_000;
/** Each bucket is 5 % wider than the one before: a percentile is exact to within 5 %. */
const GROWTH = 1.05;
const INV_LOG_GROWTH = 1 / Math.log(GROWTH);
export const BUCKETS = Math.ceil(Math.log(MAX_MS / MIN_MS) * INV_LOG_GROWTH) + 1;

/**
 * Durations in log-scale buckets: constant memory (one small array), an add costs a log
 * and an increment, and percentiles come out within 5 %. No per-request array is kept.
 */
export class LogHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  count = 0;

  add(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) * INV_LOG_GROWTH));
    this.counts[i]!++;
    this.count++;
  }

  /** The value below which `p` percent (0..100) of the durations lie, ms; NaN when empty. */
  percentile(p: number): number {
    return percentileOf(this.counts, this.count, p);
  }

  /** A copy of the counts, to take a later window's difference from. */
  snapshot(): Uint32Array {
    return this.counts.slice();
  }
}

/** The upper edge of bucket `i`, ms. */
export const bucketEdge = (i: number): number => MIN_MS * GROWTH ** i;

/** A percentile of bucket counts (the upper edge of the bucket it falls in). */
export function percentileOf(counts: ArrayLike<number>, total: number, p: number): number {
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return bucketEdge(i);
  }
  return bucketEdge(counts.length - 1);
}

/** The counts added since `before` (a snapshot), for a percentile over a window. */
export function difference(now: Uint32Array, before: Uint32Array): { counts: Uint32Array; total: number } {
  const counts = new Uint32Array(now.length);
  let total = 0;
  for (let i = 0; i < now.length; i++) {
    counts[i] = now[i]! - (before[i] ?? 0);
    total += counts[i]!;
  }
  return { counts, total };
}
