import { parseHead } from '../../observe/head-text.js';
import type { Observer, Tapped } from '../../observe/exchange-trace.js';
import { judgeKept, sendCopy, type CopyAnswer, type CopyTarget } from '../../proxy/send-copy.js';
import { compareAnswers, errorCode, unanswered } from './compare.js';
import { COMPARE_BODY_CAP, type ComparisonReport } from './verify.js';

/** How long `stop` waits for copies still in flight. */
const STOP_GRACE_MS = 1000;
/** Copies in flight at most; past it, live requests are not copied (and counted as skipped). */
const MAX_PENDING = 64;
/** The field that marks a copy, so the gateway (and its logs) can tell it from a client's request. */
export const MIRROR_FIELD = 'x-baton-mirror';

/**
 * `--mirror`: while it runs, each safe request the serving generation answered is copied
 * to the candidate, and once more to the serving generation, after the client has its
 * answer (the data path's tap fires at the end of the exchange): fire-and-forget, never
 * on a client's path, never delaying or failing one. The candidate's answer is compared
 * with the client's and the second serving answer (what differs between those two is
 * noise). Copies carry `x-baton-mirror: 1`: not Envoy's `-shadow` Host suffix, which
 * would change how a gateway routes by host.
 */
export class Mirror {
  readonly #observer: Observer;
  readonly #serving: { id: number; target: CopyTarget };
  readonly #candidate: CopyTarget;
  readonly #methods: readonly string[];
  readonly #headers: readonly string[];
  readonly #authority: string;
  readonly #pending = new Set<Promise<void>>();
  /** Closes the copies still out when the mirror stops. */
  readonly #cancel = new AbortController();
  readonly report: ComparisonReport = { source: 'mirror', compared: 0, differing: [], failed: [] };
  /** Live requests not copied: too many copies in flight. */
  skipped = 0;
  #seen = new Set<string>();
  #stopped = false;

  constructor(observer: Observer, serving: { id: number; target: CopyTarget }, candidate: CopyTarget, options: { methods: readonly string[]; headers: readonly string[]; localAuthority: string }) {
    this.#observer = observer;
    this.#serving = serving;
    this.#candidate = candidate;
    this.#methods = options.methods;
    this.#headers = options.headers;
    this.#authority = options.localAuthority;
  }

  start(): void {
    this.#observer.tap = (exchange) => this.#copy(exchange);
  }

  /**
   * Stops copying and gives the report, once the copies in flight are answered or a
   * second has passed: a candidate that hangs on copies must not hold its promotion up
   * (those still out finish on their own, unreported).
   */
  async stop(): Promise<ComparisonReport> {
    if (this.#observer.tap) this.#observer.tap = undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#pending]), new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
    clearTimeout(timer);
    this.#stopped = true;
    this.#cancel.abort(); // copies still out (a candidate that hangs on them) are closed

    return { ...this.report, differing: [...this.report.differing], failed: [...this.report.failed] };
  }

  #copy(x: Tapped): void {
    if (x.gen !== this.#serving.id || x.own || x.bytesIn > 0 || !this.#methods.includes(x.method)) return;
    if (this.#pending.size >= MAX_PENDING) return void this.skipped++;
    const job = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#compare(x));
    this.#pending.add(job);
    void job.finally(() => this.#pending.delete(job));
  }

  async #compare(x: Tapped): Promise<void> {
    const judged = judgeKept(x.method, x.target, x.requestHead, this.#authority);
    if (!judged || judged.body !== 'none') return;
    const options = { bodyCap: COMPARE_BODY_CAP, timeoutMs: 10_000, extra: [MIRROR_FIELD, '1'], signal: this.#cancel.signal };
    const [againTry, candidateTry] = await Promise.allSettled([sendCopy(this.#serving.target, judged, undefined, options), sendCopy(this.#candidate, judged, undefined, options)]);
    if (this.#stopped) return;
    if (againTry.status === 'rejected') {
      // The serving generation gave no answer to the copy: nothing to compare with.
      if (this.report.failed.length < 50) this.report.failed.push({ method: x.method, target: x.target, error: errorCode(againTry.reason) });
      return;
    }
    const again = againTry.value;
    // The client's own answer is the first serving sample when the inspector kept its body; else the copy stands twice.
    const client = x.responseBody !== undefined && !x.responseBodyTruncated ? answerOf(x) : again;
    this.report.compared++;
    const difference = candidateTry.status === 'rejected' ? unanswered(x.method, x.target, client.status, errorCode(candidateTry.reason)) : compareAnswers(x.method, x.target, [client, again], candidateTry.value, this.#headers);
    // One report per route and kind of change is enough: live traffic repeats itself.
    if (!difference) return;
    const key = `${difference.method} ${difference.target} ${difference.status.join('>')} ${difference.fields.join(',')}`;
    if (!this.#seen.has(key)) {
      this.#seen.add(key);
      this.report.differing.push(difference);
    }
  }
}

/** The client's answer, from the tap, in the shape copies have. */
function answerOf(x: Tapped): CopyAnswer {
  const head = parseHead(x.responseHead);
  const headers: Record<string, string> = {};
  for (const [name, value] of head.headers) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return { status: x.status, headers, head: x.responseHead ?? '', body: x.responseBody ?? Buffer.alloc(0), truncated: false, ttfbMs: 0, totalMs: 0 };
}
