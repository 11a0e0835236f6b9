/**
 * baton's own answers: their bodies, one function each, and their header fields, so both
 * data paths (the fast path and node:http's) and the upgrade path say the same thing.
 * docs/troubleshooting.md lists them.
 */

/** The fields of every answer of baton's own: a one-line text body, never cached, `Retry-After: 1` on a 503. */
export function answerFields(status: number, body: string): Record<string, string> {
  return {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...(status === 503 ? { 'retry-after': '1' } : {}),
  };
}

/** 400, 417, 431, 501, 505: a request the edge refuses (edge/request-rules.ts says why). */
export const refused = (reason: string): string => `baton: ${reason}`;

/** 503: nothing serves (the router's reason). */
export const unavailable = (reason: string): string => `baton: ${reason}`;

/** 502: the gateway failed before answering and the request could not be retried. */
export const failedBeforeAnswering = (gen: number, code: string): string => `baton: gateway generation ${gen} failed before answering (${code})`;

/** 502: the gateway's answer is not HTTP/1.1 baton can pass on. */
export const badResponse = (gen: number, why: string): string => `baton: gateway generation ${gen} sent a response baton cannot pass on (${why})`;

/** 504: still unanswered on an old generation at the drain timeout. */
export const drainTimedOut = (gen: number): string => `baton: gateway generation ${gen} did not answer within --drain-timeout`;

/** Why a response head is refused: a status below 100, as node:http refuses to write it. */
export const statusBelow100 = (status: number): string => `status code ${status} below 100`;

/** 502: an upgrade (WebSocket) failed before the gateway accepted it. */
export const upgradeFailed = (gen: number, code: string): string => `baton: gateway generation ${gen} failed the upgrade (${code})`;

/** 502: http-proxy-3, which carries upgrades, could not be loaded. */
export const wsProxyMissing = (message: string): string => `baton: cannot load the WebSocket proxy (${message})`;
