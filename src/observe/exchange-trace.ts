import type { GenerationStats } from './generation-stats.js';
import { BodyCapture, type RequestRing } from './request-ring.js';

/** What the data paths record into: the inspector's ring, and the count of what no generation answered. */
export interface Observer {
  readonly ring: RequestRing;
  /** Requests answered with no generation involved: refusals at the edge, 503s while nothing serves. */
  readonly unrouted: GenerationStats;
  /**
   * Told of each exchange a generation answered, after its end (the client has its
   * answer): `--mirror` copies safe ones to a candidate. Unset, it costs one comparison.
   */
  tap?: ((exchange: Tapped) => void) | undefined;
}

/** An exchange as the tap sees it, once it is over. */
export interface Tapped {
  gen: number;
  method: string;
  target: string;
  requestHead: string;
  bytesIn: number;
  status: number;
  own: boolean;
  /** The response head the client got, and its body when the inspector kept it. */
  responseHead: string | undefined;
  responseBody: Buffer | undefined;
  /** The inspector kept only the start of the body (--record-body). */
  responseBodyTruncated: boolean;
}

/**
 * One client request followed from its head to its end, by either data path: when the
 * first response byte went out, the bytes each way, and (when the inspector records)
 * the heads and the first bytes of each body. `end` counts it on the generation that
 * answered and keeps it in the ring. This is the whole interface between the data path
 * and observe/: the data path never reads the accounting back, and never sees the
 * control plane.
 */
export class ExchangeTrace {
  readonly startedAt = performance.now();
  #ttfbAt = 0;
  bytesIn = 0;
  bytesOut = 0;
  #requestBody: BodyCapture | undefined;
  #responseBody: BodyCapture | undefined;
  #responseHead: string | undefined;
  #ended = false;

  constructor(
    readonly observer: Observer,
    readonly method: string,
    readonly target: string,
    /** The request head as received (request line and field lines). */
    readonly requestHead: string,
  ) {}

  /** Request body bytes, as they pass. */
  bodyIn(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    const ring = this.observer.ring;
    if (!ring.enabled) return;
    (this.#requestBody ??= new BodyCapture(ring.bodyCapBytes)).add(chunk);
  }

  /** The response head went out (`head`: the status line and fields the client got). */
  responded(head: string): void {
    if (this.#ttfbAt === 0) this.#ttfbAt = performance.now();
    this.#responseHead = head;
  }

  /**
   * Response body bytes, as they pass (decoded, when re-framed). Returns whether the
   * inspector kept a slice of `chunk` (it is copied when the exchange ends, not before).
   */
  bodyOut(chunk: Buffer): boolean {
    this.bytesOut += chunk.length;
    const ring = this.observer.ring;
    if (!ring.enabled) return false;
    return (this.#responseBody ??= new BodyCapture(ring.bodyCapBytes)).add(chunk);
  }

  /**
   * The request is over: `status` is what the client got (0: none), `own` whether baton
   * answered instead of the gateway, `gen` the generation that answered. Counted once.
   */
  end(gen: { id: number; stats: GenerationStats } | undefined, status: number, own: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    const now = performance.now();
    const ttfbMs = this.#ttfbAt === 0 ? Number.NaN : this.#ttfbAt - this.startedAt;
    const totalMs = now - this.startedAt;
    (gen?.stats ?? this.observer.unrouted).record({ status, own, ttfbMs, totalMs, bytesIn: this.bytesIn, bytesOut: this.bytesOut });
    const tap = this.observer.tap;
    if (tap !== undefined && gen !== undefined) {
      tap({ gen: gen.id, method: this.method, target: this.target, requestHead: this.requestHead, bytesIn: this.bytesIn, status, own, responseHead: this.#responseHead, responseBody: this.#responseBody?.body, responseBodyTruncated: this.#responseBody?.truncated ?? false });
    }
    const ring = this.observer.ring;
    if (!ring.enabled) return;
    ring.add({
      gen: gen?.id,
      method: this.method,
      target: this.target,
      startedAt: performance.timeOrigin + this.startedAt,
      status,
      own,
      ttfbMs,
      totalMs,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      requestHead: this.requestHead,
      responseHead: this.#responseHead,
      requestBody: this.#requestBody?.parts,
      requestBodyTruncated: this.#requestBody?.truncated ?? false,
      responseBody: this.#responseBody?.parts,
      responseBodyTruncated: this.#responseBody?.truncated ?? false,
    });
  }
}

/**
 * A request baton refused before it became an exchange (a malformed head, a parse error,
 * a refused upgrade): counted as unrouted and kept in the inspector with what could be
 * read of it. `head` is its raw text, from its request line on.
 */
export function recordRefusal(observer: Observer, head: string, status: number): void {
  const end = head.indexOf('\r\n');
  const line = end === -1 ? head : head.slice(0, end);
  const [method = '', target = ''] = line.split(' ');
  const trace = new ExchangeTrace(observer, method.slice(0, 32), target.slice(0, 2048), head.slice(0, 2048));
  trace.responded(`HTTP/1.1 ${status}`);
  trace.end(undefined, status, true);
}
