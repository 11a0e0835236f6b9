/**
 * The bodies of baton's own answers, one function each, so both data paths (the fast
 * path and node:http's) say the same thing. docs/troubleshooting.md lists them.
 */

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
