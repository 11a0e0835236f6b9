/** Numbers for reports: percentiles, means, spreads and markdown tables. */

/** Percentile (0..100) of unsorted numbers, nearest-rank; NaN for none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: ArrayLike<number>): number => percentile(values, 50);

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation; 0 for fewer than two values. */
export function stddev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** Largest and smallest of a list of any length (spreading a long list into Math.max overflows the stack). */
export const maxOf = (list: readonly number[]): number => list.reduce((a, b) => (b > a ? b : a), Number.NEGATIVE_INFINITY);
export const minOf = (list: readonly number[]): number => list.reduce((a, b) => (b < a ? b : a), Number.POSITIVE_INFINITY);

/** Fixed decimals with thousands separators; NaN and undefined show as "—". */
export function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A markdown table from a header row and rows of cells. */
export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const line = (cells: ReadonlyArray<string | number>): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
