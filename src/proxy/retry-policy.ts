/**
 * When a request that failed before any answer went out is sent again. Both data paths
 * (the fast path and node:http's) follow it, so a client sees the same behaviour
 * whichever carried its request.
 *
 * Only body-less idempotent requests are replayed, budgeted per error code (so at most
 * four attempts in all). A reset (a keep-alive socket the gateway closed as baton reused
 * it, or a gateway that died) is retried once on a fresh connection, never on another
 * pooled socket that may be just as dead. A refused connection never reached the
 * gateway, so it is retried up to three times, each after baton has noticed the gateway
 * is gone (or a second has passed), so the retry is routed to its successor. A request
 * reset again on its fresh connection waits up to 250 ms for baton to notice a dying
 * gateway and then goes once to the successor; if the gateway is still serving, it gets
 * the 502.
 */

/** Retries used so far, by error code (`gone`: the one hand-over to a successor); absent on a first attempt. */
export type Retries = Readonly<Record<string, number>>;

export type AfterFailure =
  | { readonly action: 'answer' }
  | {
      readonly action: 'retry';
      readonly retries: Retries;
      /** Wait until the generation is retired, or this long, before routing again (0: at once). */
      readonly waitMs: number;
      /** Retry only if the router moved on from the failed generation; else answer. */
      readonly onlyToSuccessor: boolean;
    };

/** Methods that are safe to send twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const BUDGET: Readonly<Record<string, number>> = { ECONNRESET: 1, ECONNREFUSED: 3 };
/** How long a twice-reset request waits to see whether its gateway is exiting. */
const RESET_SETTLE_MS = 250;
/** Longest wait for baton to notice a refusing gateway has exited before retrying anyway. */
const REFUSED_SETTLE_MS = 1000;

/** A request baton may send again: idempotent and without a body. */
export function isReplayable(method: string, hasBody: boolean): boolean {
  return !hasBody && IDEMPOTENT.has(method);
}

/** After a reset, the next attempt opens its own connection instead of taking a pooled one. */
export function wantsFreshConnection(retries: Retries | undefined): boolean {
  return retries?.ECONNRESET !== undefined;
}

/** What to do after an attempt failed with `code` before the client got an answer. */
export function afterFailure(code: string, retries: Retries | undefined, replayable: boolean): AfterFailure {
  if (!replayable) return { action: 'answer' };
  if (code === 'ECONNRESET' && retries?.ECONNRESET) {
    if (retries.gone) return { action: 'answer' };
    return { action: 'retry', retries: { ...retries, gone: 1 }, waitMs: RESET_SETTLE_MS, onlyToSuccessor: true };
  }
  const used = retries?.[code] ?? 0;
  if (used >= (BUDGET[code] ?? 0)) return { action: 'answer' };
  return { action: 'retry', retries: { ...retries, [code]: used + 1 }, waitMs: code === 'ECONNREFUSED' ? REFUSED_SETTLE_MS : 0, onlyToSuccessor: false };
}

/** What `retryAfterFailure` needs from the caller's side of the request. */
export interface RetrySteps {
  /** The client went away meanwhile: nothing more to do. */
  gone(): boolean;
  /** Answer 502. */
  answer(): void;
  /** Route the request again, with these retries counted. */
  retry(retries: Retries): void;
}

/**
 * Carries out the policy for a request that failed on `failed` before any answer: answer
 * at once, or wait as `afterFailure` says (until `failed` is retired, at most `waitMs`)
 * and route it again, unless the client left or, for a hand-over to a successor, the
 * router still names the failed generation. Both data paths call this.
 */
export function retryAfterFailure(
  code: string,
  retries: Retries | undefined,
  replayable: boolean,
  failed: { whenGone(ms: number): Promise<void> },
  serving: () => unknown,
  steps: RetrySteps,
): void {
  const next = afterFailure(code, retries, replayable);
  if (next.action === 'answer') return steps.answer();
  const go = (): void => {
    if (steps.gone()) return;
    if (next.onlyToSuccessor && serving() === failed) return steps.answer();
    steps.retry(next.retries);
  };
  if (next.waitMs === 0) go();
  else void failed.whenGone(next.waitMs).then(go);
}
