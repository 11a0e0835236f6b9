import http from 'node:http';
import type http2 from 'node:http2';
import type tls from 'node:tls';
import { answerFields, drainTimedOut, failedBeforeAnswering, refused, unavailable } from '../answer-texts.js';
import { isRefusal, judgeRequest, localAuthority, type Judged } from '../edge/request-rules.js';
import { Generation, type CutKind, type Exchange } from '../generation.js';
import { headerObject, responseFields } from '../hop-headers.js';
import { isReplayable, retryAfterFailure, wantsFreshConnection, type Retries } from '../retry-policy.js';
import type { RouteSource, UnavailableError } from '../router.js';
import { tlsConnectOptions } from '../upstream-tls.js';
import { lazy } from '../../lazy-builtins.js';
import { ExchangeTrace, recordRefusal, type Observer } from '../../observe/exchange-trace.js';

/** RST_STREAM codes (RFC 9113 §7). */
const NGHTTP2_INTERNAL_ERROR = 0x2;
const NGHTTP2_CANCEL = 0x8;

/** What the HTTP/2 path needs from the front server. */
export interface H2PathHost {
  readonly router: RouteSource;
  readonly observer: Observer;
}

/** Response fields HTTP/2 forbids (RFC 9113 §8.2.2) besides the hop-by-hop ones `responseFields` drops. */
const NOT_IN_H2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/**
 * HTTP/2 on the public port (TLS, ALPN `h2`). Each stream is one request: judged by the
 * same rules as HTTP/1.1 on the other paths (edge/request-rules.ts, with `:authority` as
 * Host), routed, counted on its generation until it ends, and forwarded to the gateway as
 * HTTP/1.1 on the generation's agent (in TLS when the instance listens in TLS), so any
 * gateway serves HTTP/2 clients. At the drain timeout an unanswered stream gets a 504
 * and a streaming one is ended. gRPC is not carried: it needs HTTP/2 to the gateway and
 * trailers, and this path speaks HTTP/1.1 upstream.
 */
export class H2Path {
  readonly server: http2.Http2Server;
  readonly #host: H2PathHost;
  readonly #sessions = new Set<http2.ServerHttp2Session>();

  constructor(host: H2PathHost) {
    this.#host = host;
    // The edge's head limit, as HPACK-decoded header list size; the rules count fields themselves.
    this.server = lazy.http2.createServer({ settings: { maxHeaderListSize: 64 * 1024 }, maxSessionMemory: 32 });
    this.server.on('session', (session: http2.ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      session.on('error', () => session.destroy());
    });
    this.server.on('stream', (stream, headers) => this.#onStream(stream, headers));
  }

  /** A TLS connection that chose `h2`: HTTP/2 from here. */
  take(socket: tls.TLSSocket): void {
    this.server.emit('connection', socket);
  }

  /** Graceful: a GOAWAY on every session, streams in flight finish. */
  close(): void {
    for (const session of this.#sessions) session.close();
  }

  destroy(): void {
    for (const session of this.#sessions) session.destroy();
  }

  #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => stream.destroy());
    const socket = stream.session?.socket;
    const method = String(headers[':method'] ?? '');
    const target = String(headers[':path'] ?? '');
    const fields: string[] = [];
    // `:authority` is the Host (RFC 9113 §8.3.1); a Host field of its own is the client's word for the same.
    if (headers[':authority'] !== undefined && headers.host === undefined) fields.push('host', String(headers[':authority']));
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith(':') || value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) fields.push(name, String(one));
    }
    // A body without a length is framed by the stream; upstream it goes chunked.
    const hasBody = !stream.endAfterHeaders;
    if (hasBody && headers['content-length'] === undefined) fields.push('transfer-encoding', 'chunked');
    const text = `${method} ${target} HTTP/2\r\n${fields.map((f, i) => (i % 2 === 0 ? `${f}: ${fields[i + 1]}\r\n` : '')).join('')}`;
    if (method === 'CONNECT') {
      recordRefusal(this.#host.observer, text, 501);
      return answer(stream, 501, refused('CONNECT is not proxied'));
    }
    const judged = judgeRequest({
      method,
      target,
      version: '1.1',
      fields,
      remoteAddress: socket?.remoteAddress ?? '',
      localAuthority: localAuthority(socket?.localAddress, socket?.localPort),
      secure: true,
    });
    if (isRefusal(judged)) {
      recordRefusal(this.#host.observer, text, judged.status);
      return answer(stream, judged.status, refused(judged.reason));
    }
    const flight = new H2Flight(stream, judged, new ExchangeTrace(this.#host.observer, method, target, text), this.#host.router);
    flight.route(undefined);
  }
}

/** One HTTP/2 stream from its head to its end: routed, forwarded, retried, counted. */
class H2Flight implements Exchange {
  #gen: Generation | undefined;
  #upstream: http.ClientRequest | undefined;
  #responded = false;
  #streaming = false;
  #ended = false;
  #own = false;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly judged: Judged,
    readonly trace: ExchangeTrace,
    readonly router: RouteSource,
  ) {
    stream.once('close', () => this.#end());
    stream.on('data', (chunk: Buffer) => this.trace.bodyIn(chunk));
  }

  route(retries: Retries | undefined): void {
    const routed = this.router.route(this.judged.pin);
    if (routed instanceof Generation) return this.#forward(routed, retries);
    routed.then(
      (gen) => {
        if (!this.stream.destroyed) this.#forward(gen, retries);
      },
      (err: UnavailableError) => this.#answer(503, unavailable(err.message)),
    );
  }

  /** The drain timeout passed (Exchange). */
  cut(gen: Generation): CutKind {
    if (!this.#responded) {
      this.#upstream?.destroy();
      this.#answer(504, drainTimedOut(gen.id));
      return 'request';
    }
    if (this.#streaming) {
      this.stream.end();
      return 'stream';
    }
    this.stream.close(NGHTTP2_CANCEL);
    return 'request';
  }

  #forward(gen: Generation, retries: Retries | undefined): void {
    this.#gen = gen;
    gen.enter(this);
    const { judged } = this;
    const agent = wantsFreshConnection(retries) ? false : gen.agent;
    const options = { host: gen.target.host, port: gen.target.port, method: judged.method, path: judged.target, headers: headerObject(judged.fields), setHost: false, agent };
    const onResponse = (res: http.IncomingMessage): void => {
      if (this.stream.destroyed) return void res.destroy();
      const status = res.statusCode ?? 502;
      const out: http2.OutgoingHttpHeaders = { ':status': status };
      const kept = responseFields(res.rawHeaders);
      let head = `HTTP/2 ${status}\r\n`;
      for (let i = 0; i < kept.length; i += 2) {
        const name = kept[i]!.toLowerCase();
        if (NOT_IN_H2.has(name)) continue;
        const value = kept[i + 1]!;
        const previous = out[name];
        out[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [String(previous), value];
        head += `${name}: ${value}\r\n`;
      }
      this.#responded = true;
      this.#streaming = res.headers['content-length'] === undefined;
      if (this.#streaming) gen.stats.streams++;
      this.trace.responded(head);
      this.stream.respond(out, { endStream: judged.method === 'HEAD' || status === 204 || status === 304 });
      res.on('data', (chunk: Buffer) => {
        this.trace.bodyOut(chunk);
        if (!this.stream.write(chunk)) {
          res.pause();
          this.stream.once('drain', () => res.resume());
        }
      });
      res.on('end', () => {
        if (!this.stream.destroyed) this.stream.end();
      });
      // The gateway broke off mid-answer: the client sees the stream reset, never a short body taken as whole.
      res.on('error', () => this.stream.close(NGHTTP2_INTERNAL_ERROR));
      res.on('aborted', () => this.stream.close(NGHTTP2_INTERNAL_ERROR));
    };
    const upstream = gen.tls ? lazy.https.request({ ...options, ...tlsConnectOptions(gen.tls, judged.host) }, onResponse) : http.request(options, onResponse);
    this.#upstream = upstream;
    if (judged.body === 'none') upstream.useChunkedEncodingByDefault = false;
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      gen.leave(this);
      if (this.#responded) return void this.stream.close(NGHTTP2_INTERNAL_ERROR);
      retryAfterFailure(err.code ?? '', retries, isReplayable(judged.method, judged.body !== 'none'), gen, () => this.router.current, {
        gone: () => this.stream.destroyed,
        answer: () => this.#answer(502, failedBeforeAnswering(gen.id, err.code ?? err.message)),
        retry: (next) => this.route(next),
      });
    });
    if (judged.body === 'none') upstream.end();
    else this.stream.pipe(upstream);
  }

  /** baton's own answer on this stream. */
  #answer(status: number, text: string): void {
    if (this.stream.destroyed || this.stream.headersSent) return;
    this.#own = true;
    this.#responded = true;
    this.trace.responded(`HTTP/2 ${status}`);
    answer(this.stream, status, text);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#upstream?.destroy();
    const gen = this.#gen;
    if (gen) {
      if (this.#streaming) gen.stats.streams--;
      gen.leave(this);
    }
    const status = this.stream.headersSent ? Number(this.stream.sentHeaders[':status'] ?? 0) : 0;
    this.trace.end(gen, status, this.#own);
  }
}

/** baton's own answer on a stream, then its end. */
function answer(stream: http2.ServerHttp2Stream, status: number, text: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status, ...answerFields(status, text) });
  stream.end(text);
}
