import type { RequestRing } from '../../observe/request-ring.js';
import type { Judged } from '../../proxy/edge/request-rules.js';
import { judgeKept, sendCopy, type CopyAnswer, type CopyTarget } from '../../proxy/send-copy.js';
import { compareAnswers, errorCode, unanswered, type Difference } from './compare.js';

/** What a comparison of the candidate with the serving generation found. */
export interface ComparisonReport {
  /** Where the requests came from: replayed from the inspector, or mirrored from live traffic. */
  source: 'replay' | 'mirror';
  /** Requests both generations answered. */
  compared: number;
  differing: Difference[];
  /** Copies that got no answer from either side (a network error, a timeout), by target. */
  failed: Array<{ method: string; target: string; error: string }>;
}

/** Bodies beyond this are compared cut. */
export const COMPARE_BODY_CAP = 1024 * 1024;
/** Copies in flight at once. */
const CONCURRENCY = 4;

/** One request to compare: how it is sent. */
export interface CopyRequest {
  method: string;
  target: string;
  judged: Judged;
}

/**
 * The requests `--verify` replays: the most recent ones in the inspector with one of
 * `methods` and no body, each method and target once, newest first, at most `limit`.
 */
export function pickReplays(ring: RequestRing, methods: readonly string[], limit: number, localAuthority: string): CopyRequest[] {
  const seen = new Set<string>();
  const out: CopyRequest[] = [];
  for (const entry of ring.list()) {
    if (out.length >= limit) break;
    if (!methods.includes(entry.method) || entry.own || entry.replayOf !== undefined || entry.bytesIn > 0) continue;
    const key = `${entry.method} ${entry.target}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const judged = judgeKept(entry.method, entry.target, entry.requestHead, localAuthority);
    if (judged && judged.body === 'none') out.push({ method: entry.method, target: entry.target, judged });
  }
  return out;
}

/**
 * Sends each request to the candidate once and to the serving generation twice, and
 * compares the answers (compare.ts: what differs between the serving generation's own
 * two answers is noise). Copies go straight to the instances: no generation counts them.
 */
export async function compareGenerations(requests: readonly CopyRequest[], serving: CopyTarget, candidate: CopyTarget, headerNames: readonly string[], signal: AbortSignal): Promise<ComparisonReport> {
  const report: ComparisonReport = { source: 'replay', compared: 0, differing: [], failed: [] };
  const queue = [...requests];
  const send = (target: CopyTarget, r: CopyRequest): Promise<CopyAnswer> => sendCopy(target, r.judged, undefined, { bodyCap: COMPARE_BODY_CAP, timeoutMs: 10_000, signal });
  const worker = async (): Promise<void> => {
    for (let r = queue.shift(); r && !signal.aborted; r = queue.shift()) {
      const [a, b, c] = await Promise.allSettled([send(serving, r), send(serving, r), send(candidate, r)]);
      if (signal.aborted) return;
      if (a.status === 'rejected' || b.status === 'rejected') {
        // The serving generation itself gave no answer: nothing to compare with.
        report.failed.push({ method: r.method, target: r.target, error: errorCode(a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason) });
        continue;
      }
      report.compared++;
      const difference = c.status === 'rejected' ? unanswered(r.method, r.target, a.value.status, errorCode(c.reason)) : compareAnswers(r.method, r.target, [a.value, b.value], c.value, headerNames);
      if (difference) report.differing.push(difference);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return report;
}
