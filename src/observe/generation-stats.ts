import { LogHistogram } from './log-histogram.js';

/** Answers by status class. */
export interface StatusClasses {
  '1xx': number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
}

/** How one client request ended, as a data path reports it. */
export interface Ended {
  /** The status the client got; 0 when it got none (the connection was cut first). */
  status: number;
  /** The answer was baton's own (502, 503, 504, or a refusal at the edge), not the gateway's. */
  own: boolean;
  /** Head arrived → first response byte, and → response complete, ms; NaN when there was no response. */
  ttfbMs: number;
  totalMs: number;
  /** Body bytes from the client, and to it. */
  bytesIn: number;
  bytesOut: number;
}

const CLASS = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * The traffic one generation was given, counted as it ends: requests, answers by status
 * class (baton's own 502, 503 and 504 apart), time to first byte and total time in
 * log-scale histograms, bytes in and out, and the streams and WebSockets open on it.
 * Both data paths record into it; health probes never pass the front, so never count.
 */
export class GenerationStats {
  requests = 0;
  readonly statuses: StatusClasses = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  /** baton's own answers on this generation, by status (502 failed before answering, 504 drain timeout, …). */
  readonly own: Record<string, number> = {};
  /** Requests that ended without a status reaching the client (the client left, a cut). */
  noAnswer = 0;
  readonly ttfb = new LogHistogram();
  readonly total = new LogHistogram();
  bytesIn = 0;
  bytesOut = 0;
  /** Responses streaming right now (chunked or until close), and upgraded sockets open. */
  streams = 0;
  websockets = 0;
  websocketsTotal = 0;

  record(e: Ended): void {
    this.requests++;
    if (e.status === 0) this.noAnswer++;
    else this.statuses[CLASS[Math.min(5, Math.floor(e.status / 100))]!]++;
    if (e.own) this.own[e.status] = (this.own[e.status] ?? 0) + 1;
    if (e.ttfbMs === e.ttfbMs) this.ttfb.add(e.ttfbMs);
    if (e.totalMs === e.totalMs) this.total.add(e.totalMs);
    this.bytesIn += e.bytesIn;
    this.bytesOut += e.bytesOut;
  }

  /** 5xx answers, the gateway's and baton's own. */
  get errors(): number {
    return this.statuses['5xx'];
  }
}
