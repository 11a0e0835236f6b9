import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
import { BatonError } from './errors.js';
import { forwardHttp } from './forward-http.js';
import { Generation } from './generation.js';
import { UnavailableError, type Router } from './router.js';

export interface FrontServerOptions {
  host: string;
  port: number;
  router: Router;
}

/** Methods that are safe to send twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/**
 * Retries of a body-less idempotent request, budgeted per error code (so at most four
 * in all). A reset (a keep-alive socket the gateway closed as we reused it, or a gateway
 * that died) is retried once on a fresh connection, never on another pooled socket that
 * may be just as dead. A refused connection never reached the gateway, so it is retried
 * up to three times, each after baton has noticed the gateway is gone (or a second has
 * passed), so the retry is routed to its successor. A request reset again on its fresh
 * connection waits up to 250 ms for baton to notice a dying gateway and then goes once
 * to the successor; if the gateway is still serving, it gets the 502.
 */
const RETRY_BUDGET: Readonly<Record<string, number>> = { ECONNRESET: 1, ECONNREFUSED: 3 };
/** How long a twice-reset request waits to see whether its gateway is exiting. */
const RESET_SETTLE_MS = 250;
/** Longest wait for baton to notice a refusing gateway has exited before retrying anyway. */
const REFUSED_SETTLE_MS = 1000;

/** Retries used so far, by error code; absent on a first attempt. */
type Retries = Record<string, number>;

/**
 * The public listener. It asks the router for a generation per request, counts the
 * request against it until the response closes, and forwards it with that generation's
 * keep-alive agent (`forward-http.ts`; upgrades go through http-proxy-3's `ws()`).
 * Client connections belong to baton, never to a gateway, so they survive every reload.
 */
export class FrontServer {
  readonly #server: http.Server;
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
  /** The upstream response feeding each client response, so a drain timeout can end it cleanly. */
  readonly #upstreams = new WeakMap<http.ServerResponse, http.IncomingMessage>();
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(options: FrontServerOptions) {
    this.#options = options;
    this.#router = options.router;
    this.#server = http.createServer((req, res) => this.#dispatch(req, res, undefined));
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
  }

  /** Binds the public port. Rejects with E_PORT_IN_USE / E_LISTEN. */
  listen(): Promise<{ url: string; port: number }> {
    const { host, port } = this.#options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, host, port));
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onError);
        const bound = (this.#server.address() as { port: number }).port;
        const shownHost = host.includes(':') ? `[${host}]` : host;
        resolve({ url: `http://${shownHost}:${bound}`, port: bound });
      });
    });
  }

  /** Stops accepting connections; keep-alive clients are told to close after their current response. */
  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
    return this.#closed;
  }

  /** Cuts every client connection now. */
  async destroy(): Promise<void> {
    const closed = this.close();
    this.#server.closeAllConnections();
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
    for (const res of [...gen.responses]) {
      if (!res.headersSent) {
        counts.requests++;
        respond(res, 504, `baton: gateway generation ${gen.id} did not answer within --drain-timeout`);
        continue;
      }
      // The head went out in one writeHead, so its headers are those of the upstream response.
      const upstream = this.#upstreams.get(res);
      if (upstream?.headers['content-length'] === undefined && !res.writableEnded) {
        counts.streams++;
        upstream?.unpipe(res);
        upstream?.destroy();
        res.end();
      } else {
        counts.requests++;
        res.destroy();
      }
    }
    for (const socket of [...gen.sockets]) {
      counts.websockets++;
      socket.end(WS_CLOSE_GOING_AWAY);
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    return counts;
  }

  #dispatch(req: http.IncomingMessage, res: http.ServerResponse, retries: Retries | undefined): void {
    const routed = this.#router.route();
    if (routed instanceof Generation) return this.#forward(req, res, routed, retries);
    routed.then(
      (gen) => {
        if (!res.destroyed) this.#forward(req, res, gen, retries);
      },
      (err: UnavailableError) => respond(res, 503, `baton: ${err.message}`),
    );
  }

  /**
   * The client connection is baton's: its keep-alive follows the client and baton's state,
   * never the gateway's (whose Keep-Alive hints describe the upstream socket). An HTTP/1.0
   * client is always answered `Connection: close`, as it was under http-proxy-3.
   */
  readonly #keepClientAlive = (req: http.IncomingMessage, res: http.ServerResponse): boolean =>
    !this.#closing && res.shouldKeepAlive && req.httpVersion !== '1.0';

  readonly #onResponse = (res: http.ServerResponse, upstream: http.IncomingMessage): void => {
    this.#upstreams.set(res, upstream);
  };

  #forward(req: http.IncomingMessage, res: http.ServerResponse, gen: Generation, retries: Retries | undefined): void {
    gen.enter(res);
    const leave = (): void => {
      res.off('close', leave);
      gen.leave(res);
    };
    res.on('close', leave);
    // After a reset, a one-off connection (agent: false) rather than another pooled socket.
    const fresh = retries?.ECONNRESET !== undefined;
    const onError = (err: NodeJS.ErrnoException): void => {
      if (res.headersSent) {
        // Headers went out: no status can be sent any more, so end the client connection
        // (unless baton already ended the response cleanly, as a drain timeout does).
        if (!res.writableEnded) res.destroy();
        return;
      }
      leave();
      const code = err.code ?? '';
      if (code === 'ECONNRESET' && retries?.ECONNRESET && isReplayable(req)) {
        // Reset again, on a fresh connection: either the gateway resets this request (answer
        // 502) or it is dying. Give baton a moment to notice; if it did, route to the successor.
        void gen.whenGone(RESET_SETTLE_MS).then(() => {
          if (res.destroyed) return;
          if (this.#router.current !== gen && !retries.gone) this.#dispatch(req, res, { ...retries, gone: 1 });
          else respond(res, 502, `baton: gateway generation ${gen.id} failed before answering (${code})`);
        });
        return;
      }
      const used = retries?.[code] ?? 0;
      if (used < (RETRY_BUDGET[code] ?? 0) && isReplayable(req)) {
        const next = { ...retries, [code]: used + 1 };
        const settle = code === 'ECONNREFUSED' ? gen.whenGone(REFUSED_SETTLE_MS) : Promise.resolve();
        void settle.then(() => {
          if (!res.destroyed) this.#dispatch(req, res, next);
        });
        return;
      }
      respond(res, 502, `baton: gateway generation ${gen.id} failed before answering (${err.code ?? err.message})`);
    };
    forwardHttp(req, res, { target: gen.target, agent: fresh ? false : gen.agent, keepClientAlive: this.#keepClientAlive, onResponse: this.#onResponse, onError });
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
        rejectUpgrade(socket, 502, `baton: gateway generation ${gen.id} failed the upgrade (${err.code ?? err.message})`);
      });
    };
    const proxyTo = (gen: Generation): void => {
      if (socket.destroyed) return;
      // Counted from now, so a drain waits for an upgrade that waits for the import.
      gen.enterSocket(socket);
      socket.once('close', () => gen.leaveSocket(socket));
      if (this.#proxy) return ws(this.#proxy, gen);
      this.#wsProxy().then(
        (proxy) => ws(proxy, gen),
        (err: Error) => rejectUpgrade(socket, 502, `baton: cannot load the WebSocket proxy (${err.message})`),
      );
    };
    const routed = this.#router.route();
    if (routed instanceof Generation) return proxyTo(routed);
    routed.then(proxyTo, (err: UnavailableError) => rejectUpgrade(socket, 503, `baton: ${err.message}`));
  }
}

/** What `cut` ended: streams ended cleanly, requests answered 504 or cut, WebSockets closed. */
export interface CutCounts {
  streams: number;
  requests: number;
  websockets: number;
}

/** An unmasked WebSocket close frame with status 1001 (going away). */
const WS_CLOSE_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

function isReplayable(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  return !hasBody && IDEMPOTENT.has(req.method ?? '');
}

function respond(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(status === 503 ? { 'retry-after': '1' } : {}),
  });
  res.end(body);
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  if (socket.destroyed) return;
  const body = `${text}\n`;
  const reason = http.STATUS_CODES[status] ?? '';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
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
