import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
import { answerFields, badResponse, drainTimedOut, failedBeforeAnswering, statusBelow100, unavailable, upgradeFailed, wsProxyMissing } from './answer-texts.js';
import { BatonError } from '../errors.js';
import { FastConnection, type FastPathHost } from './fast-path/client-connection.js';
import { plainAnswer } from './fast-path/plain-answer.js';
import { forwardHttp } from './forward-http.js';
import { Generation, type CutKind, type Exchange } from './generation.js';
import { isReplayable, retryAfterFailure, wantsFreshConnection, type Retries } from './retry-policy.js';
import { UnavailableError, type Router } from './router.js';

export interface FrontServerOptions {
  host: string;
  port: number;
  router: Router;
  /** Read plain HTTP/1.1 requests on baton's fast path; false: node:http takes every connection. */
  fastPath: boolean;
}

/**
 * The public listener. Each new connection starts on the fast path
 * (`fast-path/client-connection.ts`: baton reads and forwards plain HTTP/1.1 itself on
 * raw sockets); a request it does not handle hands the connection to node:http, which
 * forwards with `forward-http.ts` on the generation's agent, and takes upgrades to
 * http-proxy-3's `ws()`. Either way a request asks the router for a generation, is
 * counted against it until its response ends, and follows the same retry policy.
 * Client connections belong to baton, never to a gateway, so they survive every reload.
 */
export class FrontServer {
  readonly #server: http.Server;
  /** node:http's own connection listener, for connections the fast path hands over. */
  readonly #httpConnection: (socket: net.Socket) => void;
  readonly #fast = new Set<FastConnection>();
  /** Every client connection open, whichever path or protocol it is on, for `destroy()`. */
  readonly #sockets = new Set<net.Socket>();
  #sweeper: NodeJS.Timeout | undefined;
  /**
   * http-proxy-3 serves only WebSocket upgrades, and loading it costs about 12 MiB of
   * memory, so it is imported on the first upgrade (`#wsProxy`) and kept from then on.
   */
  #proxy: ProxyServer | undefined;
  #loadingProxy: Promise<ProxyServer> | undefined;
  readonly #router: Router;
  readonly #options: FrontServerOptions;
  /** Client sockets whose upgrade went through: errors on them must not write an HTTP status. */
  readonly #upgraded = new WeakSet<Duplex>();
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #host: FastPathHost;

  constructor(options: FrontServerOptions) {
    this.#options = options;
    this.#router = options.router;
    this.#server = http.createServer((req, res) => this.#dispatch(req, res, undefined));
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    // Every connection meets the fast path first; node:http's listener gets the ones it hands over.
    const [httpConnection] = this.#server.listeners('connection') as Array<(socket: net.Socket) => void>;
    this.#httpConnection = httpConnection!;
    this.#server.prependListener('connection', (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    if (options.fastPath) {
      this.#server.removeListener('connection', httpConnection!);
      this.#server.on('connection', (socket: net.Socket) => this.#fast.add(new FastConnection(socket, this.#host)));
    }
    const front = this;
    this.#host = {
      router: this.#router,
      get closing() {
        return front.#closing;
      },
      handOff: (socket, unread) => this.#handOff(socket, unread),
      forget: (connection) => this.#fast.delete(connection),
    };
  }

  /** Binds the public port. Rejects with E_PORT_IN_USE / E_LISTEN. */
  listen(): Promise<{ url: string; port: number }> {
    const { host, port } = this.#options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, host, port));
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onError);
        this.#sweeper = setInterval(() => this.#closeIdleFast(), 1000).unref();
        const bound = (this.#server.address() as { port: number }).port;
        const shownHost = host.includes(':') ? `[${host}]` : host;
        resolve({ url: `http://${shownHost}:${bound}`, port: bound });
      });
    });
  }

  /** Stops accepting connections; keep-alive clients are told to close after their current response. */
  close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweeper);
    this.#closed ??= new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
      for (const connection of [...this.#fast]) connection.closeIfIdle();
    });
    return this.#closed;
  }

  /**
   * Cuts every client connection now, upgraded ones included (node:http no longer
   * tracks those, and one left open would keep the server from closing).
   */
  async destroy(): Promise<void> {
    const closed = this.close();
    for (const socket of [...this.#sockets]) socket.destroy();
    await closed;
  }

  /**
   * The drain timeout passed: end what is still in flight on `gen` as cleanly as each
   * kind allows. A streamed (chunked) response is ended properly, so an SSE client sees
   * the stream end and reconnects to the new generation; a response that has not started
   * gets a 504; a response with a fixed length can only be cut; a WebSocket gets a close
   * frame (1001 going away).
   */
  cut(gen: Generation): CutCounts {
    const counts: CutCounts = { streams: 0, requests: 0, websockets: 0 };
    for (const exchange of [...gen.exchanges]) counts[COUNTED[exchange.cut(gen)]]++;
    return counts;
  }

  /** A connection the fast path does not carry any further: node:http reads it from here. */
  #handOff(socket: net.Socket, unread: Buffer | undefined): void {
    // Paused, so the bytes put back wait for node:http's reader instead of being emitted to nobody.
    socket.pause();
    if (unread) socket.unshift(unread);
    this.#httpConnection.call(this.#server, socket);
    socket.resume();
  }

  /** node:http's keep-alive timeout, for connections on the fast path. */
  #closeIdleFast(): void {
    const now = performance.now();
    for (const connection of this.#fast) connection.closeIfIdleTooLong(now);
  }

  #dispatch(req: http.IncomingMessage, res: http.ServerResponse, retries: Retries | undefined): void {
    const routed = this.#router.route();
    if (routed instanceof Generation) return this.#forward(req, res, routed, retries);
    routed.then(
      (gen) => {
        if (!res.destroyed) this.#forward(req, res, gen, retries);
      },
      (err: UnavailableError) => respond(res, 503, unavailable(err.message)),
    );
  }

  /**
   * The client connection is baton's: its keep-alive follows the client and baton's state,
   * never the gateway's (whose Keep-Alive hints describe the upstream socket). An HTTP/1.0
   * client is always answered `Connection: close`, as it was under http-proxy-3.
   */
  readonly #keepClientAlive = (req: http.IncomingMessage, res: http.ServerResponse): boolean =>
    !this.#closing && res.shouldKeepAlive && req.httpVersion !== '1.0';

  #forward(req: http.IncomingMessage, res: http.ServerResponse, gen: Generation, retries: Retries | undefined): void {
    const exchange = new HttpExchange(res);
    gen.enter(exchange);
    const leave = (): void => {
      res.off('close', leave);
      gen.leave(exchange);
    };
    res.on('close', leave);
    const onError = (err: NodeJS.ErrnoException): void => {
      if (res.headersSent) {
        // Headers went out: no status can be sent any more, so end the client connection
        // (unless baton already ended the response cleanly, as a drain timeout does).
        if (!res.writableEnded) res.destroy();
        return;
      }
      leave();
      const invalid = invalidResponse(err);
      if (invalid !== undefined) return respond(res, 502, badResponse(gen.id, invalid));
      retryAfterFailure(err.code ?? '', retries, isReplayable(req.method ?? '', hasBody(req)), gen, () => this.#router.current, {
        gone: () => res.destroyed,
        answer: () => respond(res, 502, failedBeforeAnswering(gen.id, err.code ?? err.message)),
        retry: (next) => this.#dispatch(req, res, next),
      });
    };
    const onResponse = (_res: http.ServerResponse, upstream: http.IncomingMessage): void => {
      exchange.upstream = upstream;
    };
    // After a reset, a one-off connection (agent: false) rather than another pooled socket.
    const agent = wantsFreshConnection(retries) ? false : gen.agent;
    forwardHttp(req, res, { target: gen.target, agent, keepClientAlive: this.#keepClientAlive, onResponse, onError });
  }

  /** http-proxy-3's proxy for upgrades: imported and set up on the first call, then shared. */
  #wsProxy(): Promise<ProxyServer> {
    this.#loadingProxy ??= import('http-proxy-3').then(
      ({ createProxyServer }) => {
        const proxy = createProxyServer({ xfwd: true });
        // http-proxy-3 re-emits a client socket's errors (a WebSocket client that resets, say)
        // as its own 'error' event; unheard, that would throw. The socket is done: close it.
        proxy.on('error', (_err, _req, resOrSocket) => {
          resOrSocket.destroy();
        });
        proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
          proxyReq.once('upgrade', () => this.#upgraded.add(socket));
        });
        this.#proxy = proxy;
        return proxy;
      },
      (err: unknown) => {
        this.#loadingProxy = undefined; // the next upgrade tries again
        throw err;
      },
    );
    return this.#loadingProxy;
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const ws = (proxy: ProxyServer, gen: Generation): void => {
      if (socket.destroyed) return;
      proxy.ws(req, socket, head, { target: gen.target }, (err: NodeJS.ErrnoException) => {
        if (this.#upgraded.has(socket)) return socket.destroy();
        rejectUpgrade(socket, 502, upgradeFailed(gen.id, err.code ?? err.message));
      });
    };
    const proxyTo = (gen: Generation): void => {
      if (socket.destroyed) return;
      // Counted from now, so a drain waits for an upgrade that waits for the import.
      const exchange = new WebSocketExchange(socket);
      gen.enter(exchange);
      socket.once('close', () => gen.leave(exchange));
      if (this.#proxy) return ws(this.#proxy, gen);
      this.#wsProxy().then(
        (proxy) => ws(proxy, gen),
        (err: Error) => rejectUpgrade(socket, 502, wsProxyMissing(err.message)),
      );
    };
    const routed = this.#router.route();
    if (routed instanceof Generation) return proxyTo(routed);
    routed.then(proxyTo, (err: UnavailableError) => rejectUpgrade(socket, 503, unavailable(err.message)));
  }
}

/** What `cut` ended: streams ended cleanly, requests answered 504 or cut, WebSockets closed. */
export interface CutCounts {
  streams: number;
  requests: number;
  websockets: number;
}

const COUNTED: Readonly<Record<CutKind, keyof CutCounts>> = { stream: 'streams', request: 'requests', websocket: 'websockets' };

/** An unmasked WebSocket close frame with status 1001 (going away). */
const WS_CLOSE_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** A request on node:http's path, in flight until its response closes. */
class HttpExchange implements Exchange {
  readonly #res: http.ServerResponse;
  /** The gateway's response feeding it, once it arrived. */
  upstream: http.IncomingMessage | undefined;

  constructor(res: http.ServerResponse) {
    this.#res = res;
  }

  cut(gen: Generation): CutKind {
    const res = this.#res;
    if (!res.headersSent) {
      respond(res, 504, drainTimedOut(gen.id));
      return 'request';
    }
    // The head went out in one writeHead, so its headers are those of the upstream response.
    if (this.upstream?.headers['content-length'] === undefined && !res.writableEnded) {
      this.upstream?.unpipe(res);
      this.upstream?.destroy();
      res.end();
      return 'stream';
    }
    res.destroy();
    return 'request';
  }
}

/** An upgraded connection (a WebSocket), in flight until it closes. */
class WebSocketExchange implements Exchange {
  readonly #socket: Duplex;

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  cut(): CutKind {
    const socket = this.#socket;
    socket.end(WS_CLOSE_GOING_AWAY);
    // Not unref'd: a paused socket with nothing to write does not keep the process alive,
    // and shutdown waits for this one to be gone. A socket that closes first takes it along.
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.once('close', () => clearTimeout(timer));
    return 'websocket';
  }
}

/**
 * Why node:http's client refused the gateway's answer, if it did: a head Node will not
 * write (forward-http.ts gives the status), or one its parser rejects (`HPE_*`).
 */
function invalidResponse(err: NodeJS.ErrnoException & { status?: number }): string | undefined {
  if (err.code === 'ERR_HTTP_INVALID_STATUS_CODE' && err.status !== undefined) return statusBelow100(err.status);
  if (err.code?.startsWith('HPE_')) return err.code;
  return undefined;
}

function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function respond(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, answerFields(status, body));
  res.end(body);
}

/** An upgrade baton refuses: the same answer as on the fast path, then the connection closed. */
function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  if (!socket.destroyed) socket.end(plainAnswer(status, text, false, false));
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): BatonError {
  if (err.code === 'EADDRINUSE') {
    return new BatonError('E_PORT_IN_USE', `port ${port} on ${host} is already in use`, 'stop the process holding it or choose another with --port', { cause: err });
  }
  if (err.code === 'EACCES') {
    return new BatonError('E_LISTEN', `not allowed to bind port ${port} on ${host}`, 'use a port above 1023 or run with the needed privilege', { cause: err });
  }
  return new BatonError('E_LISTEN', `cannot bind ${host}:${port} (${err.code ?? err.message})`, 'check --host names an address of this machine', { cause: err });
}
