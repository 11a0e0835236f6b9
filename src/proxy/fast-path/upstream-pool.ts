import net from 'node:net';
import { lazy } from '../../lazy-builtins.js';
import { tlsConnectOptions, type UpstreamTls } from '../upstream-tls.js';
import { ResponseHeads } from './response-head.js';

/** What an upstream connection reports to the exchange using it. */
export interface UpstreamUser {
  /**
   * Bytes from the gateway. `chunk` may be a view of the connection's read buffer, valid
   * only during the call: returns true when something still refers to it afterwards (a
   * client write not finished, the inspector's slice of a body still in flight), so the
   * next read goes to a fresh buffer.
   */
  upstreamData(chunk: Buffer): boolean;
  /** The connection ended or failed; `err` is undefined for a clean end by the gateway. */
  upstreamClosed(err: NodeJS.ErrnoException | undefined): void;
  /** The connection took all queued writes: paused request bodies may flow again. */
  upstreamDrained(): void;
}

/** Free connections are dropped after this long, before typical gateway idle timeouts. */
export const IDLE_MS = 4000;
/** How often free connections are checked against their idle limit. */
const SWEEP_MS = 500;
/** A plain connection's first read buffer; it doubles, up to MAX_READ, each time a read fills it. */
const FIRST_READ = 16 * 1024;
/** Node's own read size. */
const MAX_READ = 64 * 1024;

/**
 * One keep-alive connection to a gateway instance. Its listeners are set once and
 * report to whichever exchange holds it, so lending it out costs nothing per request.
 */
export class Upstream {
  readonly socket: net.Socket;
  /** The exchange using it; undefined while it waits in the pool. */
  user: UpstreamUser | undefined;
  /** When it was put back, and how long it may wait (the gateway's Keep-Alive hint minus a second, at most IDLE_MS). */
  idleSince = 0;
  idleLimit = IDLE_MS;
  #closed = false;
  readonly #pool: UpstreamPool;
  /** The response heads this connection brings (the last one is remembered). */
  readonly heads = new ResponseHeads();

  /** The SNI it was opened with ('' in plain TCP): a free connection serves requests for that name only. */
  readonly servername: string;
  /**
   * Plain TCP reads land in this buffer (`onread`), reused from read to read: no
   * allocation and no stream push per read. Replaced when the user kept a reference to
   * the last read (see UpstreamUser.upstreamData), or when a read filled it (a larger one).
   */
  #readBuffer: Buffer | undefined;
  #readSize = FIRST_READ;
  #replaceBuffer = false;

  constructor(target: { host: string; port: number }, pool: UpstreamPool, secure: { tls: UpstreamTls; host: string | undefined } | undefined) {
    this.#pool = pool;
    if (secure) {
      const options = tlsConnectOptions(secure.tls, secure.host);
      this.servername = options.servername ?? '';
      this.socket = lazy.tls.connect({ host: target.host, port: target.port, ...options });
      this.socket.setNoDelay(true);
      this.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    } else {
      this.servername = '';
      this.socket = net.connect({ host: target.host, port: target.port, noDelay: true, onread: { buffer: this.#nextBuffer, callback: this.#onRead } });
    }
    this.socket.on('drain', () => this.user?.upstreamDrained());
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.#close(err));
    this.socket.on('close', () => this.#close(undefined));
    this.socket.on('end', () => this.#close(undefined));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The buffer the next plain read goes to. */
  readonly #nextBuffer = (): Buffer => {
    if (this.#readBuffer === undefined || this.#replaceBuffer) {
      this.#readBuffer = Buffer.allocUnsafe(this.#readSize);
      this.#replaceBuffer = false;
    }
    return this.#readBuffer;
  };

  /** A plain read: `n` bytes at the start of `buffer`. (Returning false would pause the socket.) */
  readonly #onRead = (n: number, buffer: Uint8Array): boolean => {
    if (n === buffer.length && this.#readSize < MAX_READ) {
      this.#readSize *= 2;
      this.#replaceBuffer = true;
    }
    if (this.#onData((buffer as Buffer).subarray(0, n))) this.#replaceBuffer = true;
    return true;
  };

  /** Returns whether the user kept a reference to `chunk`. */
  #onData(chunk: Buffer): boolean {
    if (this.user) return this.user.upstreamData(chunk);
    this.socket.destroy(); // bytes nobody asked for: the connection is out of step
    return false;
  }

  /** The exchange finished cleanly: back to the pool for the next request. */
  release(keepAliveMs: number | undefined): void {
    this.#pool.release(this, keepAliveMs);
  }

  /** The exchange ended out of step (cut, failed, a body left unsent): close it, tell nobody. */
  discard(): void {
    this.user = undefined;
    this.socket.destroy();
  }

  #close(err: NodeJS.ErrnoException | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    this.#pool.forget(this);
    const user = this.user;
    this.user = undefined;
    user?.upstreamClosed(err);
  }
}

/**
 * The keep-alive connections to one gateway instance (one pool per generation, so
 * retiring a generation closes exactly its connections). Free connections are reused
 * last-in first-out, which keeps the set in use small and warm.
 */
export class UpstreamPool {
  readonly #target: { host: string; port: number };
  readonly #tls: UpstreamTls | undefined;
  /** Free connections; in TLS, only those opened for the SNI asked for are reused. */
  readonly #free: Upstream[] = [];
  readonly #all = new Set<Upstream>();
  #sweeper: NodeJS.Timeout | undefined;
  #destroyed = false;

  constructor(target: { host: string; port: number }, tls?: UpstreamTls) {
    this.#target = target;
    this.#tls = tls;
  }

  /** Connections open, in use or free. */
  get open(): number {
    return this.#all.size;
  }

  /** A free connection, or a new one (`fresh`: always a new one); `host` is the request's Host, for the SNI in TLS. */
  acquire(user: UpstreamUser, fresh: boolean, host?: string): Upstream {
    let upstream: Upstream | undefined;
    if (this.#tls) upstream = fresh ? undefined : this.#takeFor(tlsConnectOptions(this.#tls, host).servername ?? '');
    else {
      while (!fresh && (upstream = this.#free.pop())) {
        if (!upstream.closed) break;
      }
    }
    if (!upstream || upstream.closed) {
      upstream = new Upstream(this.#target, this, this.#tls ? { tls: this.#tls, host } : undefined);
      this.#all.add(upstream);
      // A retired instance takes nothing new; refused, so the request is retried on its successor.
      if (this.#destroyed) upstream.socket.destroy(Object.assign(new Error('the gateway instance is retired'), { code: 'ECONNREFUSED' }));
    }
    upstream.user = user;
    return upstream;
  }

  /** The most recently freed open connection made for `servername`. */
  #takeFor(servername: string): Upstream | undefined {
    for (let i = this.#free.length - 1; i >= 0; i--) {
      const upstream = this.#free[i]!;
      if (upstream.closed || upstream.servername !== servername) continue;
      this.#free.splice(i, 1);
      return upstream;
    }
    return undefined;
  }

  /** Puts a connection whose exchange finished cleanly back, for the next request. */
  release(upstream: Upstream, keepAliveMs: number | undefined): void {
    upstream.user = undefined;
    if (this.#destroyed || upstream.closed) return void upstream.socket.destroy();
    upstream.idleSince = performance.now();
    upstream.idleLimit = keepAliveMs === undefined ? IDLE_MS : Math.min(IDLE_MS, keepAliveMs - 1000);
    if (upstream.idleLimit <= 0) return void upstream.socket.destroy();
    this.#free.push(upstream);
    this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS).unref();
  }

  /** A connection closed: it is no longer counted or lent out. */
  forget(upstream: Upstream): void {
    this.#all.delete(upstream);
    const i = this.#free.indexOf(upstream);
    if (i !== -1) this.#free.splice(i, 1);
  }

  /** Closes every connection, in use or free; later acquisitions fail. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    clearInterval(this.#sweeper);
    for (const upstream of [...this.#all]) upstream.socket.destroy();
  }

  #sweep(): void {
    const now = performance.now();
    for (const upstream of [...this.#free]) {
      if (now - upstream.idleSince >= upstream.idleLimit) upstream.socket.destroy();
    }
    if (this.#free.length === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}
