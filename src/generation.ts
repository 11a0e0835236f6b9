import http from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The proxy's view of one gateway instance: where it listens, its own keep-alive
 * agent, and the work in flight on it. It knows nothing about the process.
 */
export class Generation {
  readonly id: number;
  readonly port: number;
  readonly target: { readonly host: string; readonly port: number };
  /**
   * One keep-alive agent per generation: upstream sockets stay warm, and retiring a
   * generation closes exactly its sockets. Free sockets are dropped after 4 s (or
   * earlier when the gateway's `Keep-Alive: timeout` hint says so), before typical
   * gateway idle timeouts, so a request rarely lands on a socket the gateway is closing.
   */
  readonly agent: http.Agent;
  /** Responses in flight (held until they close). */
  readonly responses = new Set<http.ServerResponse>();
  /** Upgraded client sockets (WebSockets) open on this generation. */
  readonly sockets = new Set<Duplex>();
  #idleWaiters: Array<() => void> = [];
  #gone = false;
  readonly #goneWaiters = new Set<() => void>();

  constructor(id: number, port: number) {
    this.id = id;
    this.port = port;
    this.target = { host: '127.0.0.1', port };
    this.agent = new http.Agent({ keepAlive: true, timeout: 4000, scheduling: 'lifo' });
  }

  /** Requests and upgraded sockets currently using this generation. */
  get inflight(): number {
    return this.responses.size + this.sockets.size;
  }

  enter(res: http.ServerResponse): void {
    this.responses.add(res);
  }

  leave(res: http.ServerResponse): void {
    if (this.responses.delete(res)) this.#maybeIdle();
  }

  enterSocket(socket: Duplex): void {
    this.sockets.add(socket);
  }

  leaveSocket(socket: Duplex): void {
    if (this.sockets.delete(socket)) this.#maybeIdle();
  }

  /** Resolves true when nothing is in flight, or false after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.#idleWaiters.push(wake);
    });
  }

  /**
   * Resolves when the generation is retired (its process ended) or after `ms`.
   * A refused connection waits on this before its retry, so the retry sees the
   * router's state after baton noticed the exit instead of racing it.
   */
  whenGone(ms: number): Promise<void> {
    if (this.#gone) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#goneWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#goneWaiters.add(wake);
    });
  }

  /** The process behind it has ended: close its upstream sockets, wake refused retries. Idempotent. */
  destroy(): void {
    this.#gone = true;
    this.agent.destroy();
    for (const wake of this.#goneWaiters) wake();
  }

  #maybeIdle(): void {
    if (this.inflight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }
}
