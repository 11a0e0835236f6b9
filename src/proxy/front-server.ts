import type http from 'node:http';
import type tls from 'node:tls';
import { lazy } from '../lazy-builtins.js';
import net from 'node:net';
import { BatonError } from '../errors.js';
import { recordRefusal, type Observer } from '../observe/exchange-trace.js';
import { refused } from './answer-texts.js';
import { plainAnswer } from './fast-path/plain-answer.js';
import { FastConnection, type FastPathHost } from './fast-path/client-connection.js';
import type { CutKind, Generation } from './generation.js';
import { H2Path } from './h2-path/h2-path.js';
import { HttpPath } from './node-path/http-path.js';
import type { RouteSource } from './router.js';

export interface FrontServerOptions {
  host: string;
  port: number;
  router: RouteSource;
  /** Read plain HTTP/1.1 requests on baton's fast path; false: node:http takes every connection. */
  fastPath: boolean;
  /** Where every request is counted and recorded as it ends (observe/). */
  observer: Observer;
  /** The flag that chose this port, for the error when it cannot be bound. @default '--port' */
  portFlag?: string;
  /**
   * Serve HTTPS: HTTP/1.1 over TLS on both paths, HTTP/2 by ALPN (h2-path/), with this
   * certificate, or (`true`) one given to `useCertificate` before `listen`.
   */
  tls?: { cert: Buffer; key: Buffer } | true;
}

/**
 * The public listener. Each new connection starts on the fast path
 * (`fast-path/client-connection.ts`: baton reads and forwards plain HTTP/1.1 itself on
 * raw sockets); a request it does not carry hands the connection to node:http's path
 * (`node-path/http-path.ts`), which forwards on the generation's agent and takes
 * WebSocket upgrades to http-proxy-3. Both judge every request by the same rules
 * (`edge/request-rules.ts`), ask the router for a generation, count the request against
 * it until its response ends, and follow the same retry policy. Client connections
 * belong to baton, never to a gateway, so they survive every reload.
 */
export class FrontServer {
  readonly #server: http.Server;
  /** What listens on the port: the HTTP server itself, or (HTTPS) a TCP server that hands each connection to #tls. */
  readonly #listener: net.Server;
  /** HTTPS: the TLS server (not listening itself) that hands each connection to the HTTP server after the handshake. */
  #tls: tls.Server | undefined;
  readonly #httpPath: HttpPath;
  /** HTTP/2 streams, on HTTPS connections that chose h2 (ALPN). */
  #h2Path: H2Path | undefined;
  readonly #fast = new Set<FastConnection>();
  /** Every client connection open, whichever path or protocol it is on, for `destroy()`. */
  readonly #sockets = new Set<net.Socket>();
  #sweeper: NodeJS.Timeout | undefined;
  readonly #options: FrontServerOptions;
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #host: FastPathHost;

  constructor(options: FrontServerOptions) {
    this.#options = options;
    const front = this;
    this.#httpPath = new HttpPath({
      router: options.router,
      observer: options.observer,
      get closing() {
        return front.#closing;
      },
    });
    this.#server = this.#httpPath.server;
    this.#server.prependListener('connection', (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // Every connection meets the fast path first; node:http's path gets the ones it hands over.
    if (options.fastPath) {
      this.#httpPath.detachFromServer();
      this.#server.on('connection', (socket: net.Socket) => this.#fast.add(new FastConnection(socket, this.#host)));
    }
    this.#listener = options.tls ? this.#tlsListener(options.tls) : this.#server;
    this.#host = {
      router: options.router,
      observer: options.observer,
      get closing() {
        return front.#closing;
      },
      handOff: (socket, unread, ended) => this.#handOff(socket, unread, ended),
      forget: (connection) => this.#fast.delete(connection),
    };
  }

  /** The certificate the HTTPS port serves from now on (made at start, or renewed). */
  useCertificate(certificate: { cert: Buffer; key: Buffer }): void {
    this.#tls!.setSecureContext(certificate);
  }

  /** Binds the public port. Rejects with E_PORT_IN_USE / E_LISTEN. */
  listen(): Promise<{ url: string; port: number }> {
    const { host, port } = this.#options;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, host, port, this.#options.portFlag ?? '--port'));
      const listener = this.#listener;
      listener.once('error', onError);
      listener.listen({ host, port }, () => {
        listener.off('error', onError);
        this.#sweeper = setInterval(() => this.#closeIdleFast(), 1000).unref();
        const bound = (listener.address() as { port: number }).port;
        const shownHost = host.includes(':') ? `[${host}]` : host;
        resolve({ url: `${this.#options.tls ? 'https' : 'http'}://${shownHost}:${bound}`, port: bound });
      });
    });
  }

  /** Stops accepting connections; keep-alive clients are told to close after their current response. */
  close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweeper);
    this.#closed ??= new Promise((resolve) => {
      if (!this.#listener.listening) return resolve();
      this.#listener.close(() => resolve());
      this.#server.closeIdleConnections();
      this.#h2Path?.close();
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
    this.#h2Path?.destroy();
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

  /**
   * The HTTPS listener: after the handshake each connection goes where a plain one goes
   * (the fast path, or node:http's path), so HTTPS has the same edge and the same data
   * paths as HTTP. A TCP server takes each connection first and looks at its first byte:
   * a TLS handshake goes to the TLS server (the bytes read are put back, and it reads them
   * first); plain HTTP gets a 400 that says the port speaks HTTPS (as nginx answers), not
   * a closed connection; anything else is closed.
   */
  #tlsListener(certificate: { cert: Buffer; key: Buffer } | true): net.Server {
    const server = lazy.tls.createServer({ ...(certificate === true ? {} : certificate), ALPNProtocols: ['h2', 'http/1.1'] });
    this.#tls = server;
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      if (socket.alpnProtocol !== 'h2') return this.#server.emit('connection', socket);
      this.#h2Path ??= new H2Path({ router: this.#options.router, observer: this.#options.observer });
      this.#h2Path.take(socket);
    });
    // A failed handshake (a client that does not trust the certificate) ends that connection only.
    server.on('tlsClientError', (_err: Error, socket: tls.TLSSocket) => socket.destroy());
    return net.createServer({ pauseOnConnect: true }, (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', () => socket.destroy()); // the TLS socket over it reports its own
      socket.setTimeout(FIRST_BYTE_MS, () => socket.destroy());
      let seen: Buffer | undefined;
      const onData = (chunk: Buffer): void => {
        seen = seen ? Buffer.concat([seen, chunk]) : chunk;
        const head = seen[0] === TLS_HANDSHAKE ? '' : seen.toString('latin1', 0, Math.min(seen.length, 2048));
        if (METHOD_SO_FAR.test(head)) return; // a request line still arriving, a byte at a time
        socket.off('data', onData);
        socket.pause();
        socket.setTimeout(0);
        if (seen[0] === TLS_HANDSHAKE) {
          socket.unshift(seen);
          server.emit('connection', socket);
        } else this.#plainOnHttps(socket, head);
      };
      socket.on('data', onData);
      socket.resume();
    });
  }

  /**
   * A connection to the HTTPS port whose first bytes are not a TLS handshake. After the
   * 400 what the client still sends is read and dropped until it closes (for at most
   * LINGER_MS), as nginx lingers: a paused socket with bytes left unread would never end.
   */
  #plainOnHttps(socket: net.Socket, head: string): void {
    if (!HTTP_START.test(head)) return void socket.destroy();
    recordRefusal(this.#options.observer, head, 400);
    socket.end(plainAnswer(400, refused('plain HTTP was sent to an HTTPS port: use https:// (baton serves HTTPS here; --tls off serves plain HTTP)'), false, head.startsWith('HEAD ')));
    socket.setTimeout(LINGER_MS, () => socket.destroy());
    socket.resume();
  }

  /** A connection the fast path does not carry any further: node:http reads it from here. */
  #handOff(socket: net.Socket, unread: Buffer | undefined, ended: boolean): void {
    if (ended) {
      // The client's end was seen already and cannot be put back: node:http is given the
      // bytes and the end as events, in that order, so it answers and then closes.
      this.#httpPath.take(socket);
      if (unread) socket.emit('data', unread);
      socket.emit('end');
      return;
    }
    // Paused, so the bytes put back wait for node:http's reader instead of being emitted to nobody.
    socket.pause();
    if (unread) socket.unshift(unread);
    this.#httpPath.take(socket);
    socket.resume();
  }

  /** node:http's keep-alive timeout, for connections on the fast path. */
  #closeIdleFast(): void {
    const now = performance.now();
    for (const connection of this.#fast) connection.closeIfIdleTooLong(now);
  }
}

/** The first byte of a TLS handshake record. */
const TLS_HANDSHAKE = 0x16;
/** How long a connection to the HTTPS port may stay silent before its first byte (Node's own TLS handshake timeout). */
const FIRST_BYTE_MS = 120_000;
/** The start of an HTTP/1 request line (or HTTP/2's preface): a method in capitals and a space. */
const HTTP_START = /^[A-Z]{3,20} /;
/** What may still become HTTP_START: capitals so far, no space yet. */
const METHOD_SO_FAR = /^[A-Z]{1,20}$/;
/** How long a refused plain-HTTP connection is read and dropped before it is closed. */
const LINGER_MS = 5000;

/** What `cut` ended: streams ended cleanly, requests answered 504 or cut, WebSockets closed. */
export interface CutCounts {
  streams: number;
  requests: number;
  websockets: number;
}

const COUNTED: Readonly<Record<CutKind, keyof CutCounts>> = { stream: 'streams', request: 'requests', websocket: 'websockets' };

function listenError(err: NodeJS.ErrnoException, host: string, port: number, flag: string): BatonError {
  if (err.code === 'EADDRINUSE') {
    const which = flag === '--port' ? 'choose another with --port' : `choose another in ${flag}`;
    return new BatonError('E_PORT_IN_USE', `port ${port} on ${host} is already in use`, `stop the process holding it or ${which}`, { cause: err });
  }
  if (err.code === 'EACCES') {
    return new BatonError('E_LISTEN', `not allowed to bind port ${port} on ${host}`, 'use a port above 1023 or run with the needed privilege', { cause: err });
  }
  return new BatonError('E_LISTEN', `cannot bind ${host}:${port} (${err.code ?? err.message})`, 'check --host names an address of this machine', { cause: err });
}
