import { difference, percentileOf } from '../../observe/log-histogram.js';
import type { GenerationStats } from '../../observe/generation-stats.js';

/** A generation's counts at one moment, to take a later window from. */
export interface StatsMark {
  requests: number;
  failures: number;
  latency: Uint32Array;
}

/** What one generation answered over a window. */
export interface WindowNumbers {
  requests: number;
  /** Non-5xx answers that reached the client, percent; null without requests. */
  successRate: number | null;
  p99Ms: number | null;
}

/** What the canary analysis (or the guard) decided for one window. */
export interface Verdict {
  passed: boolean;
  /** No request reached the candidate in the window: nothing to judge, so it passes. */
  inconclusive: boolean;
  /** Why it failed, in words. */
  reason?: string;
  candidate: WindowNumbers;
  baseline: WindowNumbers;
  /** The thresholds applied: the least success rate, and the most p99 (ms). */
  limits: { successRate: number; p99Ms: number };
}

export interface Thresholds {
  /** Percent. */
  success: number;
  p99Factor: number;
  p99FloorMs: number;
}

/** Requests that failed a client: a 5xx, or no answer at all (cut, reset). */
const failures = (stats: GenerationStats): number => stats.statuses['5xx'] + stats.noAnswer;

export function mark(stats: GenerationStats): StatsMark {
  return { requests: stats.requests, failures: failures(stats), latency: stats.total.snapshot() };
}

/** The numbers since `from` (or over the generation's whole life without it). */
export function numbers(stats: GenerationStats, from?: StatsMark): WindowNumbers {
  const requests = stats.requests - (from?.requests ?? 0);
  const failed = failures(stats) - (from?.failures ?? 0);
  const window = from ? difference(stats.total.counts, from.latency) : { counts: stats.total.counts, total: stats.total.count };
  const p99 = percentileOf(window.counts, window.total, 99);
  return {
    requests,
    successRate: requests === 0 ? null : Math.round(((requests - failed) / requests) * 100_000) / 1000,
    p99Ms: Number.isNaN(p99) ? null : Math.round(p99 * 1000) / 1000,
  };
}

/**
 * Flagger's two checks, the candidate against the baseline over the same window: success
 * rate (non-5xx) at least `success` percent, and p99 at most the baseline's times
 * `p99Factor`, or `p99FloorMs`, whichever is more (so a fast baseline does not fail a
 * candidate over a millisecond of noise).
 */
export function judge(candidate: WindowNumbers, baseline: WindowNumbers, t: Thresholds): Verdict {
  const limits = { successRate: t.success, p99Ms: Math.max((baseline.p99Ms ?? 0) * t.p99Factor, t.p99FloorMs) };
  if (candidate.requests === 0) return { passed: true, inconclusive: true, candidate, baseline, limits };
  const problems: string[] = [];
  if (candidate.successRate !== null && candidate.successRate < t.success) problems.push(`success rate ${candidate.successRate} % < ${t.success} %`);
  if (candidate.p99Ms !== null && candidate.p99Ms > limits.p99Ms) problems.push(`p99 ${candidate.p99Ms} ms > ${Math.round(limits.p99Ms * 1000) / 1000} ms`);
  return { passed: problems.length === 0, inconclusive: false, ...(problems.length > 0 ? { reason: problems.join(', ') } : {}), candidate, baseline, limits };
}
