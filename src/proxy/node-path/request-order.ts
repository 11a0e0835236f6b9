import type http from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The order of requests on one client connection on node:http's path. node:http reads
 * pipelined requests ahead and hands each to baton as soon as its head is parsed. baton
 * starts them one at a time, each once the answer before it is complete, and none after
 * the first whose answer closes the connection (or the first that is refused): so the
 * gateway never runs a request the client will not get an answer to, and a refusal is
 * written after every answer before it.
 */
export class RequestOrder {
  static readonly #bySocket = new WeakMap<Duplex, RequestOrder>();

  /** The order of `socket`'s requests (the same object for the connection's whole life). */
  static of(socket: Duplex): RequestOrder {
    let order = RequestOrder.#bySocket.get(socket);
    if (!order) {
      order = new RequestOrder();
      RequestOrder.#bySocket.set(socket, order);
    }
    return order;
  }

  #active: { req: http.IncomingMessage; abort: (status: number, reason: string) => void } | undefined;
  readonly #waiting: Array<() => void> = [];
  #stopped = false;

  /** Nothing after the current request is started: its answer closes the connection. */
  get stopped(): boolean {
    return this.#stopped;
  }

  stop(): void {
    this.#stopped = true;
  }

  /**
   * Starts a request once every earlier one on the connection is answered; never, once
   * stopped (node:http closes the connection after the answer that stopped it, and drops
   * the rest). `abort` is how the request is ended if its own body breaks off (below).
   */
  run(req: http.IncomingMessage, res: http.ServerResponse, start: () => void, abort: (status: number, reason: string) => void): void {
    const go = (): void => {
      if (this.#stopped) return;
      this.#active = { req, abort };
      res.once('close', () => {
        this.#active = undefined;
        this.#next();
      });
      start();
    };
    if (this.#active || this.#waiting.length > 0) this.#waiting.push(go);
    else go();
  }

  /** Runs `step` once no request is in flight: now, or after the answers still owed. */
  whenIdle(step: () => void): void {
    if (!this.#active && this.#waiting.length === 0) step();
    else this.#waiting.push(step);
  }

  /**
   * node:http could not read the rest of the connection (`status`, `reason`). A request
   * whose body was still arriving is broken with it: it is aborted and answered so.
   * Returns false when that happened (the refusal is its answer).
   */
  breakOff(status: number, reason: string): boolean {
    this.#stopped = true;
    if (!this.#active || this.#active.req.complete) return true;
    this.#active.abort(status, reason);
    return false;
  }

  #next(): void {
    while (!this.#active && this.#waiting.length > 0) this.#waiting.shift()!();
  }
}
