// Counts successes and failures in fixed time buckets (100 ms), with marked moments (saves).

export const BUCKET_MS = 100;

export class Timeline {
  constructor(t0 = performance.now()) {
    this.t0 = t0;
    this.ok = [];
    this.failed = [];
    /** Moments to draw as vertical lines: {t (ms from t0), label}. */
    this.marks = [];
  }

  #bucket(at) {
    return Math.max(0, Math.floor((at - this.t0) / BUCKET_MS));
  }

  add(ok, at = performance.now()) {
    const i = this.#bucket(at);
    const list = ok ? this.ok : this.failed;
    while (list.length <= i) list.push(0);
    list[i]++;
  }

  mark(label, at = performance.now()) {
    this.marks.push({ t: at - this.t0, label });
  }

  /** Ignores buckets from `at` on (the load winding down is not part of the measurement). */
  endAt(at) {
    this.end = at;
  }

  /** Plain data: per-bucket counts padded to the same length, and the marks. */
  toJSON() {
    const last = this.end === undefined ? Infinity : Math.floor((this.end - this.t0) / BUCKET_MS);
    const n = Math.min(last, Math.max(this.ok.length, this.failed.length));
    const pad = (list) => Array.from({ length: n }, (_, i) => list[i] ?? 0);
    return { bucketMs: BUCKET_MS, ok: pad(this.ok), failed: pad(this.failed), marks: this.marks.map((m) => ({ t: Math.round(m.t), label: m.label })) };
  }
}
