import http from 'node:http';
import { lazy } from '../lazy-builtins.js';
import { GenerationStats } from '../observe/generation-stats.js';
import { IDLE_MS, UpstreamPool } from './fast-path/upstream-pool.js';
import type { UpstreamTls } from './upstream-tls.js';

/** How the drain timeout ended an exchange: a stream ended cleanly, a request answered 504 or cut, a WebSocket closed. */
export type CutKind = 'stream' | 'request' | 'websocket';

/** One request or upgraded socket in flight on a generation, whichever path carries it. */
export interface Exchange {
  /** The drain timeout passed: end it as cleanly as its state allows, and say how. */
  cut(gen: Generation): CutKind;
}

/**
 * The proxy's view of one gateway instance: where it listens, its own keep-alive
 * connections, and the work in flight on it. It knows nothing about the process.
 */
export class Generation {
  readonly id: number;
  readonly port: number;
  readonly target: { readonly host: string; readonly port: number };
  /**
   * Keep-alive connections of this generation's own, for node:http's path (`agent`) and
   * the fast path (`pool`): upstream connections stay warm, and retiring a generation
   * closes exactly its connections. Free ones are dropped after 4 s (or earlier when the
   * gateway's `Keep-Alive: timeout` hint says so), before typical gateway idle timeouts,
   * so a request rarely lands on a connection the gateway is closing.
   */
  readonly agent: http.Agent;
  readonly pool: UpstreamPool;
  /** Requests and upgraded sockets in flight, counted until they end. */
  readonly exchanges = new Set<Exchange>();
  #idleWaiters: Array<() => void> = [];
  #gone = false;
  readonly #goneWaiters = new Set<() => void>();

  /** Its traffic, counted as each request ends (observe/). */
  readonly stats: GenerationStats;
  /** The same instance's side ports, by name, each a generation of its own for its side port's front (router.ts SideRouter). */
  readonly sides = new Map<string, Generation>();

  /** Set when the instance listens in TLS on its private port: both paths connect in TLS. */
  readonly tls: UpstreamTls | undefined;

  constructor(id: number, port: number, options: { stats?: GenerationStats; tls?: UpstreamTls } = {}) {
    this.id = id;
    this.stats = options.stats ?? new GenerationStats();
    this.port = port;
    this.target = { host: '127.0.0.1', port };
    this.tls = options.tls;
    const agentOptions = { keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo' as const };
    // An https agent keys its free sockets by SNI too, so a request reuses a connection made for its own name.
    this.agent = this.tls ? new lazy.https.Agent({ ...agentOptions, rejectUnauthorized: this.tls.ca !== undefined, ...(this.tls.ca ? { ca: this.tls.ca } : {}) }) : new http.Agent(agentOptions);
    this.pool = new UpstreamPool(this.target, this.tls);
  }

  /** Connections open to the instance right now: the fast path's pool and node:http's agent. */
  get upstreamConnections(): number {
    let agent = 0;
    for (const list of Object.values(this.agent.sockets)) agent += list?.length ?? 0;
    for (const list of Object.values(this.agent.freeSockets)) agent += list?.length ?? 0;
    return this.pool.open + agent;
  }

  /** Requests and upgraded sockets currently using this generation. */
  get inflight(): number {
    return this.exchanges.size;
  }

  enter(exchange: Exchange): void {
    this.exchanges.add(exchange);
  }

  leave(exchange: Exchange): void {
    if (this.exchanges.delete(exchange)) this.#maybeIdle();
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
    for (const side of this.sides.values()) side.destroy();
    this.#gone = true;
    this.agent.destroy();
    this.pool.destroy();
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
