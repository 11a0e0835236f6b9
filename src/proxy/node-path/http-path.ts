import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { badResponse, failedBeforeAnswering, refused, statusBelow100, unavailable } from '../answer-texts.js';
import { MAX_RAW_HEAD_BYTES } from '../edge/limits.js';
import { isRefusal, judgeRequest, localAuthority, type Judged, type Refusal } from '../edge/request-rules.js';
import { Generation } from '../generation.js';
import { headerObject } from '../hop-headers.js';
import { isReplayable, retryAfterFailure, wantsFreshConnection, type Retries } from '../retry-policy.js';
import type { RouteSource, UnavailableError } from '../router.js';
import { ExchangeTrace, recordRefusal, type Observer } from '../../observe/exchange-trace.js';
import { HttpExchange, WebSocketExchange, ownAnswers, respond } from './exchanges.js';
import { forwardHttp, type Forwarding } from './forward-http.js';
import { RequestOrder } from './request-order.js';
import { WebSocketProxy, rejectUpgrade } from './websocket-proxy.js';

/** One request on this path, from its start to its end. */
interface Flight {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly order: RequestOrder;
  judged: Judged | undefined;
  readonly trace: ExchangeTrace;
  /** The generation its current attempt went to. */
  gen: Generation | undefined;
  forwarding: Forwarding | undefined;
  /** Its response streams (no length): counted as a stream on `gen`. */
  streaming: boolean;
}

/** What node:http's path needs from the front server. */
export interface HttpPathHost {
  readonly router: RouteSource;
  /** Where each request is counted and recorded as it ends. */
  readonly observer: Observer;
  /** baton is shutting down: every response says `Connection: close`. */
  readonly closing: boolean;
}

/** Why node:http stopped reading a connection, as the answer baton gives (RFC 9112 is strict; so is llhttp). */
const PARSE_ERRORS: Readonly<Record<string, { status: number; reason: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: `request head larger than ${MAX_RAW_HEAD_BYTES / 1024} KiB` },
  HPE_PAUSED_H2_UPGRADE: { status: 505, reason: 'HTTP/2 needs TLS (ALPN) and is not spoken on this port; send HTTP/1.1' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'the request did not arrive within 60 s' },
};

/**
 * node:http's data path: a node:http server whose parser (llhttp, strict) reads the
 * connections the fast path hands over, and every connection with `--no-fast-path`.
 * Each request is judged by the same rules as on the fast path (edge/request-rules.ts)
 * from `req.rawHeaders`, started in order (request-order.ts), and forwarded by
 * `forward-http.ts` on the generation's agent; WebSocket upgrades go to http-proxy-3.
 *
 * node:http's own shortcuts are turned off where they would answer differently from the
 * fast path: no Host check or field count of its own (the rules have them), no `Date`,
 * no 100 Continue or 417 before baton has judged the request, and a client that
 * half-closes still gets its answers.
 */
export class HttpPath {
  readonly server: http.Server;
  readonly #host: HttpPathHost;
  readonly #ws = new WebSocketProxy();
  /** node:http's own connection listener, for connections handed over and put back after an upgrade. */
  readonly #connection: (socket: net.Socket) => void;

  constructor(host: HttpPathHost) {
    this.#host = host;
    const server = http.createServer({ maxHeaderSize: MAX_RAW_HEAD_BYTES, requireHostHeader: false, joinDuplicateHeaders: true }, (req, res) => this.#onRequest(req, res));
    server.maxHeadersCount = 0; // the rules count fields; node:http's limit would drop them unseen
    (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => this.#onRequest(req, res));
    server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => this.#onRequest(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    server.on('connect', (req: http.IncomingMessage, socket: Duplex) => this.#onUpgrade(req, socket, Buffer.alloc(0)));
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.#onClientError(err, socket));
    const [connection] = server.listeners('connection') as Array<(socket: net.Socket) => void>;
    this.#connection = connection!;
    this.server = server;
  }

  /** node:http reads `socket` from now on. */
  take(socket: net.Socket): void {
    this.#connection.call(this.server, socket);
  }

  /** Removes node:http's listener: new connections go where the caller says. */
  detachFromServer(): (socket: net.Socket) => void {
    this.server.removeListener('connection', this.#connection);
    return this.#connection;
  }

  #judge(req: http.IncomingMessage): Judged | Refusal {
    const raw = req.rawHeaders;
    const fields: string[] = new Array(raw.length);
    for (let i = 0; i < raw.length; i += 2) {
      fields[i] = raw[i]!;
      fields[i + 1] = raw[i + 1]!.trim();
    }
    const socket = req.socket;
    return judgeRequest({
      method: req.method ?? '',
      target: req.url ?? '',
      version: req.httpVersion,
      fields,
      remoteAddress: socket.remoteAddress ?? '',
      localAuthority: localAuthority(socket.localAddress, socket.localPort),
      secure: (socket as net.Socket & { encrypted?: boolean }).encrypted === true,
    });
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.sendDate = false;
    const order = RequestOrder.of(req.socket);
    let flight: Flight | undefined;
    order.run(
      req,
      res,
      () => {
        flight = { req, res, order, judged: undefined, trace: new ExchangeTrace(this.#host.observer, req.method ?? '', req.url ?? '', headText(req)), gen: undefined, forwarding: undefined, streaming: false };
        const started = flight;
        res.once('close', () => this.#end(started));
        const judged = this.#judge(req);
        if (isRefusal(judged)) {
          order.stop();
          req.resume();
          return this.#respond(started, judged.status, refused(judged.reason), true);
        }
        started.judged = judged;
        if (judged.close || this.#host.closing) order.stop();
        if (judged.expectContinue) res.writeContinue();
        this.#route(started, undefined);
      },
      (status, reason) => {
        flight?.forwarding?.abort();
        if (res.headersSent) res.destroy();
        else if (flight) this.#respond(flight, status, refused(reason), true);
        else respond(res, status, refused(reason), true);
      },
    );
  }

  /** baton's own answer to a request in flight. */
  #respond(flight: Flight, status: number, text: string, close = false): void {
    flight.trace.responded(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`);
    respond(flight.res, status, text, close);
  }

  /** The request is over: counted on the generation that answered, and recorded. */
  #end(flight: Flight): void {
    const { res, trace } = flight;
    if (flight.streaming) {
      flight.streaming = false;
      flight.gen!.stats.streams--;
    }
    trace.end(flight.gen, res.headersSent ? res.statusCode : 0, ownAnswers.has(res));
  }

  #route(flight: Flight, retries: Retries | undefined): void {
    const routed = this.#host.router.route(flight.judged?.pin);
    if (routed instanceof Generation) return this.#forward(flight, routed, retries);
    routed.then(
      (gen) => {
        if (!flight.res.destroyed) this.#forward(flight, gen, retries);
      },
      (err: UnavailableError) => this.#respond(flight, 503, unavailable(err.message)),
    );
  }

  #forward(flight: Flight, gen: Generation, retries: Retries | undefined): void {
    const { req, res, order } = flight;
    const judged = flight.judged!;
    flight.gen = gen;
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
      if (invalid !== undefined) return this.#respond(flight, 502, badResponse(gen.id, invalid));
      retryAfterFailure(err.code ?? '', retries, isReplayable(judged.method, judged.body === 'chunked' || judged.contentLength > 0), gen, () => this.#host.router.current, {
        gone: () => res.destroyed,
        answer: () => this.#respond(flight, 502, failedBeforeAnswering(gen.id, err.code ?? err.message)),
        retry: (next) => this.#route(flight, next),
      });
    };
    /**
     * The client connection is baton's: its keep-alive follows the client and baton's
     * state, never the gateway's. An HTTP/1.0 client keeps it only for an answer whose
     * length is known (it cannot read chunks); a close stops the requests after this one.
     */
    const keepClientAlive = (lengthKnown: boolean): boolean => {
      const keep = !this.#host.closing && !judged.close && (judged.version === '1.1' || lengthKnown);
      if (!keep) order.stop();
      return keep;
    };
    const onResponse = (upstream: http.IncomingMessage): void => {
      exchange.upstream = upstream;
    };
    const onHead = (status: number, fields: readonly string[], lengthKnown: boolean): void => {
      let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n`;
      for (let i = 0; i < fields.length; i += 2) head += `${fields[i]}: ${fields[i + 1]}\r\n`;
      flight.trace.responded(head);
      if (!lengthKnown && !flight.streaming) {
        flight.streaming = true;
        gen.stats.streams++;
      }
    };
    // After a reset, a one-off connection (agent: false) rather than another pooled socket.
    const agent = wantsFreshConnection(retries) ? false : gen.agent;
    flight.forwarding = forwardHttp(req, res, judged, { target: gen.target, agent, ...(gen.tls ? { tls: gen.tls } : {}), keepClientAlive, onResponse, onHead, onError, trace: flight.trace });
  }

  /**
   * An upgrade (or CONNECT): node:http has let go of the connection. A WebSocket upgrade
   * is tunnelled; any other Upgrade (h2c, unknown protocols) is dropped and the request
   * served as plain HTTP/1.1: its head, without Upgrade and HTTP2-Settings, is put back
   * in front of the bytes that followed it and node:http reads the connection again.
   */
  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const order = RequestOrder.of(socket);
    const judged = this.#judge(req);
    if (isRefusal(judged)) {
      order.stop();
      recordRefusal(this.#host.observer, headText(req), judged.status);
      return order.whenIdle(() => rejectUpgrade(socket, judged.status, refused(judged.reason)));
    }
    if (!judged.websocket) return order.whenIdle(() => this.#readAgain(socket as net.Socket, withoutUpgrade(req), head));
    if (this.#host.closing) {
      recordRefusal(this.#host.observer, headText(req), 503);
      return order.whenIdle(() => rejectUpgrade(socket, 503, unavailable('baton is shutting down')));
    }
    order.stop(); // after a tunnel, nothing on this connection is HTTP any more
    // http-proxy-3 builds the upstream request from req.headers (lower-case names, as node:http gives them).
    req.headers = {};
    for (const [name, value] of Object.entries(headerObject(judged.fields))) req.headers[name.toLowerCase()] = value as string;
    req.headers.connection = 'Upgrade';
    const proxyTo = (gen: Generation): void => {
      if (socket.destroyed) return;
      // Counted from now, so a drain waits for an upgrade that waits for the proxy's import.
      const exchange = new WebSocketExchange(socket);
      gen.enter(exchange);
      gen.stats.websockets++;
      gen.stats.websocketsTotal++;
      socket.once('close', () => {
        gen.stats.websockets--;
        gen.leave(exchange);
      });
      this.#ws.tunnel(req, socket, head, gen);
    };
    order.whenIdle(() => {
      const routed = this.#host.router.route(judged.pin);
      if (routed instanceof Generation) return proxyTo(routed);
      routed.then(proxyTo, (err: UnavailableError) => {
        recordRefusal(this.#host.observer, headText(req), 503);
        rejectUpgrade(socket, 503, unavailable(err.message));
      });
    });
  }

  #readAgain(socket: net.Socket, head: Buffer, rest: Buffer): void {
    if (socket.destroyed) return;
    socket.pause();
    socket.setTimeout(0);
    socket.unshift(rest.length > 0 ? Buffer.concat([head, rest]) : head);
    this.take(socket);
    socket.resume();
  }

  /** node:http could not parse what came next on a connection: answer it after the answers before it, then close. */
  #onClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex): void {
    const order = RequestOrder.of(socket);
    if (order.stopped) {
      // Bytes after a request that closes the connection are not requests: nobody answers them.
      return order.whenIdle(() => socket.end());
    }
    const refusal = PARSE_ERRORS[err.code ?? ''] ?? { status: 400, reason: parseErrorText(err) };
    if (!order.breakOff(refusal.status, refusal.reason)) return;
    // The client ended inside a request head: there is no request to answer.
    if (err.code === 'HPE_INVALID_EOF_STATE') return order.whenIdle(() => socket.end());
    recordRefusal(this.#host.observer, refusedHead(err), refusal.status);
    order.whenIdle(() => rejectUpgrade(socket, refusal.status, refused(refusal.reason)));
  }
}

/** What can be read of the request node:http could not parse: from the last head boundary before the error in the bytes it was given. */
function refusedHead(err: NodeJS.ErrnoException & { rawPacket?: Buffer; bytesParsed?: number }): string {
  const raw = err.rawPacket;
  if (!raw) return '';
  const upTo = Math.min(raw.length, err.bytesParsed ?? raw.length);
  const boundary = raw.subarray(0, upTo).lastIndexOf('\r\n\r\n');
  const start = boundary === -1 ? 0 : boundary + 4;
  return raw.toString('latin1', start, Math.min(raw.length, start + 2048));
}

/** The request head as node:http read it, in the text form the inspector keeps (the fast path keeps the raw bytes). */
function headText(req: http.IncomingMessage): string {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return text;
}

/** A request head without its Upgrade (and HTTP2-Settings), as bytes node:http can read again. */
function withoutUpgrade(req: http.IncomingMessage): Buffer {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'upgrade' || name === 'http2-settings') continue;
    if (name === 'connection') {
      const kept = raw[i + 1]!.split(',').map((t) => t.trim()).filter((t) => t && !/^(upgrade|http2-settings)$/i.test(t));
      if (kept.length > 0) text += `${raw[i]}: ${kept.join(', ')}\r\n`;
      continue;
    }
    text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/** llhttp's reason, as a line for the client: what it could not read. */
function parseErrorText(err: NodeJS.ErrnoException & { reason?: string }): string {
  const reason = err.reason ?? err.message;
  return `malformed request (${reason.replace(/\.$/, '')})`;
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
