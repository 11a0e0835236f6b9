/** Successes and failures counted in 100 ms buckets, with marked moments (saves, round starts). */
export const BUCKET_MS = 100;

/** A timeline as plain data, for charts and JSON. */
export interface TimelineData {
  bucketMs: number;
  ok: number[];
  failed: number[];
  marks: Array<{ t: number; label: string }>;
}

export class Timeline {
  readonly t0: number;
  readonly #ok: number[] = [];
  readonly #failed: number[] = [];
  readonly #marks: Array<{ t: number; label: string }> = [];
  #end: number | undefined;

  constructor(t0 = performance.now()) {
    this.t0 = t0;
  }

  add(ok: boolean, at = performance.now()): void {
    const i = Math.max(0, Math.floor((at - this.t0) / BUCKET_MS));
    const list = ok ? this.#ok : this.#failed;
    while (list.length <= i) list.push(0);
    list[i]!++;
  }

  mark(label: string, at = performance.now()): void {
    this.#marks.push({ t: at - this.t0, label });
  }

  /** Ignores buckets from `at` on (the load winding down is not part of the measurement). */
  endAt(at: number): void {
    this.#end = at;
  }

  toJSON(): TimelineData {
    const last = this.#end === undefined ? Number.POSITIVE_INFINITY : Math.floor((this.#end - this.t0) / BUCKET_MS);
    const n = Math.min(last, Math.max(this.#ok.length, this.#failed.length));
    const pad = (list: number[]): number[] => Array.from({ length: n }, (_, i) => list[i] ?? 0);
    return { bucketMs: BUCKET_MS, ok: pad(this.#ok), failed: pad(this.#failed), marks: this.#marks.map((m) => ({ t: Math.round(m.t), label: m.label })) };
  }
}
