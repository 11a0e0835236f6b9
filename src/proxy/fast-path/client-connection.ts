import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { badResponse, drainTimedOut, failedBeforeAnswering, refused, unavailable } from '../answer-texts.js';
import { Generation, type CutKind, type Exchange } from '../generation.js';
import { isReplayable, retryAfterFailure, wantsFreshConnection, type Retries } from '../retry-policy.js';
import type { RouteSource, UnavailableError } from '../router.js';
import { ChunkedDecoder, ChunkedSyntaxError, LAST_CHUNK, chunkHeader } from './chunked.js';
import { KEEP_ALIVE_MS, MAX_HEAD_BYTES } from './field-lines.js';
import { GatheredWrite } from './gathered-write.js';
import { plainAnswer } from './plain-answer.js';
import { ExchangeTrace, recordRefusal, type Observer } from '../../observe/exchange-trace.js';
import { localAuthority } from '../edge/request-rules.js';
import { LastHead } from './last-head.js';
import { parseRequestHead, type RequestHead } from './request-head.js';
import type { ReadResponse, ResponseHead } from './response-head.js';
import type { Upstream, UpstreamUser } from './upstream-pool.js';

/** What a fast-path connection needs from the front server. */
export interface FastPathHost {
  readonly router: RouteSource;
  /** Where each request is counted and recorded as it ends. */
  readonly observer: Observer;
  /** baton is shutting down: every response says `Connection: close`. */
  readonly closing: boolean;
  /**
   * Gives the connection to node:http, with the bytes read from it and not yet used;
   * `ended`: the client has already half-closed its side.
   */
  handOff(socket: net.Socket, unread: Buffer | undefined, ended: boolean): void;
  /** The connection is closed or handed off. */
  forget(connection: FastConnection): void;
}

/** How long a new connection may wait before its first request. */
const FIRST_REQUEST_MS = 60_000;
/** How long a head may take to arrive once its first byte has (node:http's `headersTimeout`). */
const HEAD_MS = 60_000;
/** Pipelined bytes buffered behind a request in flight before baton stops reading the client. */
const MAX_UNREAD = 2 * MAX_HEAD_BYTES;

/**
 * One client connection on the fast path: HTTP/1.1 requests with a plain or
 * Content-Length body, read and forwarded by baton itself on raw sockets, one at a time,
 * each to the generation the router names when its head arrives. Bodies are passed
 * through as they arrive, with back-pressure both ways; response bodies that are chunked
 * or close-delimited are re-framed chunked for the client, so baton can always end them
 * cleanly. A request the fast path does not handle (see request-head.ts), or a head split
 * across reads, hands the connection to node:http at that request boundary, for good.
 *
 * It is also the connection's exchange in flight: the generation counts it from routing
 * until the response is written, and the drain timeout cuts it through `cut`.
 */
export class FastConnection implements Exchange, UpstreamUser {
  readonly #socket: net.Socket;
  readonly #host: FastPathHost;
  readonly #remoteAddress: string;
  /** `host:port` the client connected to: the Host of a request that has none. */
  readonly #localAuthority: string;
  /** The client connection is TLS (the public port serves HTTPS). */
  readonly #secure: boolean;
  /** Bytes read from the client and not used yet: the start of the next request. */
  #unread: Buffer | undefined;
  /** When the connection last became idle (performance.now), 0 while a request is in flight. */
  #idleSince = performance.now();
  /** It has carried a request: its idle limit is the keep-alive timeout, not the first-request wait. */
  #served = false;
  /** When the first byte of a head still arriving came (performance.now), 0 when none is. */
  #headSince = 0;
  /** The client half-closed: answer what is in flight, then end. */
  #ended = false;
  /** No more requests: closing or closed, or handed off. */
  #done = false;
  #paused = false;

  // The exchange in flight.
  #req: RequestHead | undefined;
  /** Request body bytes still to come from the client. */
  #bodyLeft = 0;
  /** Body bytes of a request already answered (the gateway answered before reading it all), read and dropped. */
  #discardLeft = 0;
  /** Body bytes that came with the head, sent once an upstream connection is ready. */
  #firstBody: Buffer | undefined;
  #retries: Retries | undefined;
  #gen: Generation | undefined;
  /** The generation the current attempt went to: the one that answered, once it has. */
  #answering: Generation | undefined;
  /** The request in flight, followed for the accounting and the inspector. */
  #trace: ExchangeTrace | undefined;
  /** The current response streams (chunked or until close): counted as a stream on its generation. */
  #streaming = false;
  #up: Upstream | undefined;
  #upPaused = false;
  /** A response head arriving in pieces. */
  #resPartial: Buffer | undefined;
  #res: ResponseHead | undefined;
  /** Body bytes of a Content-Length response still to come. */
  #resLeft = 0;
  #decoder: ChunkedDecoder | undefined;
  /** What the client was told about keeping the connection. */
  #keepAlive = true;
  /** The inspector kept a slice of the upstream read being handled (it copies it when the exchange ends). */
  #sliceKept = false;
  /** The last request head this connection sent and its verdict: the same head again is not parsed again. */
  readonly #lastRequest = new LastHead<RequestHead>();
  readonly #toClient = new GatheredWrite();
  readonly #toUpstream = new GatheredWrite();

  constructor(socket: net.Socket, host: FastPathHost) {
    this.#socket = socket;
    this.#host = host;
    this.#remoteAddress = socket.remoteAddress ?? '';
    this.#localAuthority = localAuthority(socket.localAddress, socket.localPort);
    this.#secure = (socket as net.Socket & { encrypted?: boolean }).encrypted === true;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('drain', this.#onDrain);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  /**
   * node:http's timeouts for a connection with nothing in flight: destroyed after
   * KEEP_ALIVE_MS idle once it has carried a request, FIRST_REQUEST_MS before that, and
   * HEAD_MS after the first byte of a head that has not arrived whole.
   */
  closeIfIdleTooLong(now: number): void {
    if (this.#idleSince === 0) return;
    if (this.#headSince !== 0 && !this.#done) {
      if (now - this.#headSince > HEAD_MS) this.#socket.destroy();
      return;
    }
    if (now - this.#idleSince > (this.#served ? KEEP_ALIVE_MS : FIRST_REQUEST_MS)) this.#socket.destroy();
  }

  /** Ends the connection if no request is in flight (shutdown). */
  closeIfIdle(): void {
    if (this.#req || this.#done) return;
    this.#done = true;
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** The drain timeout passed with this request still on `gen`. */
  cut(gen: Generation): CutKind {
    if (!this.#res) {
      this.#answer(504, drainTimedOut(gen.id));
      return 'request';
    }
    if (this.#res.body === 'chunked' || this.#res.body === 'close') {
      // baton frames this body itself, so it can end it properly: an SSE client reconnects.
      this.#dropUpstream();
      this.#end(this.#res.status, false);
      this.#leave();
      this.#socket.write(LAST_CHUNK, 'latin1');
      this.#finish();
      return 'stream';
    }
    this.#cutClient(); // a fixed length can only be cut, never ended short as if complete
    return 'request';
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#done) return;
    if (this.#discardLeft > 0) {
      const n = Math.min(this.#discardLeft, chunk.length);
      this.#discardLeft -= n;
      this.#idleSince = performance.now(); // a client that stops sending it is closed by the idle sweep
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    if (this.#req && this.#bodyLeft > 0) {
      const n = Math.min(this.#bodyLeft, chunk.length);
      this.#bodyLeft -= n;
      this.#sendBody(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    this.#unread = this.#unread ? Buffer.concat([this.#unread, chunk]) : chunk;
    if (!this.#req) this.#nextRequest();
    else if (this.#unread.length > MAX_UNREAD) this.#read(false);
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    if (!this.#req) {
      this.#done = true;
      this.#socket.end();
    } else if (this.#bodyLeft > 0) {
      this.#socket.destroy(); // the body can never be complete
    }
  };

  /** The client took everything written so far: a paused response may flow again. */
  readonly #onDrain = (): void => {
    if (this.#upPaused) {
      this.#upPaused = false;
      this.#up?.socket.resume();
    }
  };

  readonly #onError = (): void => {
    // 'close' follows and cleans up.
  };

  readonly #onClose = (): void => {
    this.#done = true;
    this.#end(this.#res?.status ?? 0, false);
    this.#dropUpstream();
    this.#leave();
    this.#host.forget(this);
  };

  #read(on: boolean): void {
    if (on === !this.#paused) return;
    this.#paused = !on;
    if (on) this.#socket.resume();
    else this.#socket.pause();
  }

  #nextRequest(): void {
    const unread = this.#unread;
    if (!unread || this.#done) return;
    const known = this.#lastRequest.match(unread, 0);
    const head = known ?? parseRequestHead(unread, 0, this.#remoteAddress, this.#localAuthority, this.#secure);
    if (head === 'incomplete') {
      // A head arriving in pieces is read whole here, however many reads it takes.
      if (this.#headSince === 0) this.#headSince = performance.now();
      if (this.#ended) this.closeIfIdle(); // it never will arrive whole
      return;
    }
    this.#headSince = 0;
    if (head === 'hand-over') return this.#handOff();
    if ('status' in head) return this.#refuse(head.status, head.reason);
    if (known === undefined) this.#lastRequest.remember(unread, 0, head.size, head);
    this.#unread = head.size === unread.length ? undefined : unread.subarray(head.size);
    this.#req = head;
    this.#trace = new ExchangeTrace(this.#host.observer, head.method, head.target, head.text);
    this.#answering = undefined;
    this.#bodyLeft = head.contentLength;
    this.#retries = undefined;
    this.#idleSince = 0;
    this.#served = true;
    if (this.#bodyLeft > 0 && this.#unread) {
      const n = Math.min(this.#bodyLeft, this.#unread.length);
      this.#firstBody = this.#unread.subarray(0, n);
      this.#trace.bodyIn(this.#firstBody);
      this.#unread = n === this.#unread.length ? undefined : this.#unread.subarray(n);
      this.#bodyLeft -= n;
    }
    this.#route();
  }

  /** A request baton will not forward: answered, and nothing after it on the connection is read. */
  #refuse(status: number, reason: string): void {
    recordRefusal(this.#host.observer, this.#unread ? this.#unread.toString('latin1', 0, Math.min(this.#unread.length, 2048)) : '', status);
    this.#done = true;
    this.#unread = undefined;
    this.#idleSince = performance.now();
    this.#socket.end(plainAnswer(status, refused(reason), false, false), 'latin1');
  }

  #handOff(): void {
    this.#done = true;
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('drain', this.#onDrain);
    socket.off('error', this.#onError);
    socket.off('close', this.#onClose);
    this.#host.forget(this);
    const unread = this.#unread;
    this.#unread = undefined;
    this.#host.handOff(socket, unread, this.#ended);
  }

  #route(): void {
    const routed = this.#host.router.route(this.#req!.pin);
    if (routed instanceof Generation) return this.#attempt(routed);
    // Held until an instance is healthy: the client waits, its body with it.
    this.#read(false);
    routed.then(
      (gen) => {
        if (this.#socket.destroyed) return;
        this.#read(true);
        this.#attempt(gen);
      },
      (err: UnavailableError) => {
        if (this.#socket.destroyed) return;
        this.#answer(503, unavailable(err.message));
      },
    );
  }

  #attempt(gen: Generation): void {
    this.#gen = gen;
    this.#answering = gen;
    gen.enter(this);
    this.#res = undefined;
    this.#resPartial = undefined;
    this.#decoder = undefined;
    const up = gen.pool.acquire(this, wantsFreshConnection(this.#retries), this.#req!.host);
    this.#up = up;
    const out = this.#toUpstream;
    out.text(this.#req!.upstream);
    if (this.#firstBody) out.bytes(this.#firstBody);
    this.#firstBody = undefined; // a request with a body is never replayed
    if (!out.flush(up.socket) && this.#bodyLeft > 0) this.#read(false);
  }

  #sendBody(body: Buffer): void {
    this.#trace?.bodyIn(body);
    const up = this.#up;
    if (!up) {
      // Still routing (held, or waiting to retry): keep it with the head's share.
      this.#firstBody = this.#firstBody ? Buffer.concat([this.#firstBody, body]) : body;
      return;
    }
    if (!up.socket.write(body)) this.#read(false);
  }

  upstreamDrained(): void {
    if (this.#bodyLeft > 0) this.#read(true);
  }

  /**
   * One read from the gateway. `chunk` may sit in the upstream connection's reused read
   * buffer: the return value says whether anything still refers to it after the call — a
   * client write still in flight, or the inspector's slice of a body whose exchange is not
   * over (a partial head is copied).
   */
  upstreamData(chunk: Buffer): boolean {
    if (this.#socket.destroyed) return false;
    this.#sliceKept = false;
    // What this read brings for the client is gathered and written once (gathered-write.ts).
    const out = this.#toClient;
    let done: boolean | undefined;
    if (this.#res) {
      done = this.#responseBody(chunk, out);
    } else {
      const buf = this.#resPartial ? Buffer.concat([this.#resPartial, chunk]) : chunk;
      let offset = 0;
      const heads = this.#up!.heads;
      let read: ReadResponse;
      let head: ResponseHead;
      for (;;) {
        const got = heads.read(buf, offset, this.#req!.method === 'HEAD');
        if (got === 'incomplete') {
          // Copied: the read it came in may sit in a buffer reused for the next one.
          this.#resPartial = Buffer.from(offset === 0 ? buf : buf.subarray(offset));
          return false;
        }
        if ('error' in got) {
          this.#upstreamBroken(got.error);
          return false;
        }
        read = got;
        head = read.head;
        offset += head.size;
        if (!head.interim) break; // a 1xx is dropped; the real response follows
        if (offset === buf.length) {
          this.#resPartial = undefined;
          return false;
        }
      }
      this.#resPartial = undefined;
      this.#res = head;
      this.#trace?.responded(head.client);
      if (head.body === 'chunked' || head.body === 'close') {
        this.#streaming = true;
        this.#gen!.stats.streams++;
      }
      this.#keepAlive = !this.#req!.close && !this.#host.closing && !this.#lastBeforeEnd;
      this.#resLeft = head.contentLength;
      if (head.body === 'chunked') this.#decoder = new ChunkedDecoder();
      out.bytes(read.clientHead(this.#keepAlive));
      if (head.body === 'none' || (head.body === 'length' && head.contentLength === 0)) done = offset === buf.length;
      else if (offset < buf.length) done = this.#responseBody(buf.subarray(offset), out);
    }
    // A malformed body cut the client off while gathering: what was gathered never goes out.
    if (this.#socket.destroyed) {
      out.clear();
      return false;
    }
    const flowing = out.flush(this.#socket);
    if (done !== undefined) this.#responseDone(done);
    else if (!flowing) this.#pauseUpstream();
    return out.held || (this.#sliceKept && this.#trace !== undefined);
  }

  /**
   * Gathers one read's worth of response body for the client. Returns whether the
   * response is complete with it (true: nothing followed it, so the upstream connection
   * can be reused), or undefined while it goes on.
   */
  #responseBody(chunk: Buffer, out: GatheredWrite): boolean | undefined {
    switch (this.#res!.body) {
      case 'length': {
        const n = Math.min(this.#resLeft, chunk.length);
        this.#resLeft -= n;
        const body = n === chunk.length ? chunk : chunk.subarray(0, n);
        if (this.#trace?.bodyOut(body)) this.#sliceKept = true;
        out.bytes(body);
        return this.#resLeft === 0 ? n === chunk.length : undefined;
      }
      case 'chunked': {
        let end: number;
        try {
          end = this.#decoder!.feed(chunk, 0, this.#gatherChunk);
        } catch (err) {
          if (!(err instanceof ChunkedSyntaxError)) throw err;
          this.#upstreamBroken(err.message);
          return undefined;
        }
        if (end === -1) return undefined;
        out.text(LAST_CHUNK);
        return end === chunk.length;
      }
      case 'close':
        this.#gatherChunk(chunk);
        return undefined;
      case 'none':
        return undefined;
    }
  }

  /** One slice of a chunked or close-delimited body, as a chunk of baton's own. */
  readonly #gatherChunk = (data: Buffer): void => {
    if (this.#trace?.bodyOut(data)) this.#sliceKept = true;
    const out = this.#toClient;
    out.text(chunkHeader(data.length));
    out.bytes(data);
    out.text('\r\n');
  };

  #pauseUpstream(): void {
    if (this.#upPaused || !this.#up) return;
    this.#upPaused = true;
    this.#up.socket.pause();
  }

  upstreamClosed(err: NodeJS.ErrnoException | undefined): void {
    this.#up = undefined;
    this.#upPaused = false;
    if (this.#socket.destroyed) return;
    if (this.#res?.body === 'close' && !err) {
      // The gateway's close is the end of this body.
      this.#socket.write(LAST_CHUNK, 'latin1');
      return this.#responseDone(false);
    }
    // It died mid-body: the client must see the cut, never a short body it could take as complete.
    if (this.#res) return this.#cutClient();
    const code = err?.code === 'EPIPE' || err?.code === undefined ? 'ECONNRESET' : err.code;
    this.#failed(code);
  }

  /** The gateway sent something baton will not pass on. */
  #upstreamBroken(why: string): void {
    this.#dropUpstream();
    if (this.#res) return this.#cutClient();
    this.#answer(502, badResponse(this.#gen!.id, why));
  }

  /** The attempt failed before any answer: retry as the policy says, or answer 502. */
  #failed(code: string): void {
    const gen = this.#gen!;
    this.#leave();
    const req = this.#req!;
    retryAfterFailure(code, this.#retries, isReplayable(req.method, req.contentLength > 0), gen, () => this.#host.router.current, {
      gone: () => this.#socket.destroyed,
      answer: () => this.#answer(502, failedBeforeAnswering(gen.id, code)),
      retry: (retries) => {
        this.#retries = retries;
        this.#route();
      },
    });
  }

  /**
   * The client half-closed and sent nothing after this request: its answer is the last.
   * (Requests it pipelined before its end are all answered first.)
   */
  get #lastBeforeEnd(): boolean {
    return this.#ended && this.#unread === undefined;
  }

  /** baton's own answer instead of the gateway's. */
  #answer(status: number, text: string): void {
    this.#trace?.responded(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`);
    this.#end(status, true);
    this.#dropUpstream();
    this.#leave();
    this.#keepAlive = this.#bodyLeft === 0 && !this.#req!.close && !this.#host.closing && !this.#lastBeforeEnd;
    this.#socket.write(plainAnswer(status, text, this.#keepAlive, this.#req!.method === 'HEAD'), 'utf8');
    this.#finish();
  }

  /** The response is complete on the client connection; `reusable`: nothing followed it on the upstream one. */
  #responseDone(reusable: boolean): void {
    this.#end(this.#res!.status, false);
    const up = this.#up;
    this.#up = undefined;
    if (up) {
      if (this.#upPaused) up.socket.resume();
      this.#upPaused = false;
      if (reusable && !this.#res!.close && this.#bodyLeft === 0) up.release(this.#res!.keepAliveMs);
      else up.discard();
    }
    this.#leave();
    this.#finish();
  }

  /** The exchange is over: take the next request, or end the connection. */
  #finish(): void {
    if (this.#bodyLeft > 0 && this.#keepAlive && !this.#host.closing) {
      // Answered before its body was all sent (a 401 or 413 before reading it, or a gateway
      // that never reads it): the rest is read and dropped, as the gateway would have done,
      // so the connection the client was told to keep stays usable.
      this.#discardLeft = this.#bodyLeft;
      this.#bodyLeft = 0;
    }
    const keep = this.#keepAlive && this.#bodyLeft === 0 && !this.#host.closing;
    this.#req = undefined;
    this.#res = undefined;
    this.#decoder = undefined;
    this.#firstBody = undefined;
    this.#bodyLeft = 0;
    // Idle from now, also when ending: a client that never closes its side is closed by the idle sweep.
    this.#idleSince = performance.now();
    if (!keep) {
      this.#done = true;
      this.#socket.end();
      return;
    }
    this.#read(true);
    if (this.#unread) this.#nextRequest();
    else if (this.#ended) this.closeIfIdle();
  }

  #dropUpstream(): void {
    const up = this.#up;
    this.#up = undefined;
    this.#upPaused = false;
    up?.discard();
  }

  /** A response already under way cannot get a status any more: the client sees the connection cut. */
  #cutClient(): void {
    this.#end(this.#res?.status ?? 0, false);
    this.#leave();
    this.#socket.destroy();
  }

  /** The request is over: counted on the generation that answered (or as unrouted), and recorded. */
  #end(status: number, own: boolean): void {
    const trace = this.#trace;
    if (!trace) return;
    this.#trace = undefined;
    if (this.#streaming) {
      this.#streaming = false;
      this.#answering!.stats.streams--;
    }
    trace.end(this.#answering, status, own);
  }

  #leave(): void {
    this.#gen?.leave(this);
    this.#gen = undefined;
  }
}
