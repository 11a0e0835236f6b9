import http from 'node:http';
import { lazy } from '../../lazy-builtins.js';
import { tlsConnectOptions, type UpstreamTls } from '../upstream-tls.js';
import type { ExchangeTrace } from '../../observe/exchange-trace.js';
import type { Judged } from '../edge/request-rules.js';
import { REQUEST_HOP, headerObject, responseFields } from '../hop-headers.js';

/** Where one request goes, and what the caller decides for it. */
export interface ForwardOptions {
  /** The upstream address: a generation's private port. */
  readonly target: { readonly host: string; readonly port: number };
  /** A keep-alive agent, or `false` for a one-off connection. */
  readonly agent: http.Agent | false;
  /** Set when the instance speaks TLS on its private port. */
  readonly tls?: UpstreamTls;
  /**
   * Whether the client connection stays open after this response: the caller's decision
   * (its own state and the client's keep-alive), asked when the upstream response
   * arrives, with whether the response's length is known. The gateway's `Connection`
   * header never reaches the client.
   */
  readonly keepClientAlive: (lengthKnown: boolean) => boolean;
  /** The upstream response arrived; called before its head is written to the client. */
  readonly onResponse: (upstream: http.IncomingMessage) => void;
  /** The head written to the client: its status and field lines, and whether its length is known. */
  readonly onHead?: (status: number, fields: readonly string[], lengthKnown: boolean) => void;
  /** Where the body bytes each way are counted (observe/). */
  readonly trace?: ExchangeTrace;
  /**
   * The attempt failed; called at most once per `forwardHttp` call. Before
   * `res.headersSent` the caller may retry or answer; after it, only end the connection.
   */
  readonly onError: (err: NodeJS.ErrnoException) => void;
}

/** A forwarded request in flight. */
export interface Forwarding {
  /** Stops the upstream request (its client body broke off, say); no onError follows. */
  abort(): void;
}

const NOT_TRAILERS = new Set([...REQUEST_HOP, 'content-length', 'transfer-encoding', 'host', 'trailer']);

/**
 * Forwards one judged request (edge/request-rules.ts) to one upstream and streams the
 * answer back. Upstream go the judged method, target and fields, in the client's order
 * (repeated fields as repeated lines), and the body piped, framed as the client framed
 * it; a chunked body's trailer fields follow it. Back come the status and the gateway's
 * field lines without hop-by-hop ones, in one `writeHead`, and the body piped.
 *
 * An upstream that dies mid-body destroys the client response (the client sees the cut,
 * never a short body it could take as complete); a client that goes away before its
 * response finished aborts the upstream request.
 */
export function forwardHttp(req: http.IncomingMessage, res: http.ServerResponse, judged: Judged, options: ForwardOptions): Forwarding {
  let upstreamReq: http.ClientRequest;
  let failed = false;
  const forwarding: Forwarding = {
    abort() {
      failed = true;
      upstreamReq?.destroy();
    },
  };
  try {
    const request = {
      host: options.target.host,
      port: options.target.port,
      method: judged.method,
      path: judged.target,
      headers: headerObject(judged.fields),
      setHost: false,
      agent: options.agent,
    };
    upstreamReq = options.tls ? lazy.https.request({ ...request, ...tlsConnectOptions(options.tls, judged.host) }) : http.request(request);
  } catch (err) {
    // Node refused to send the request line or a header: nothing went out.
    options.onError(err as NodeJS.ErrnoException);
    return forwarding;
  }
  // A request the client sent without a body goes without one (no `Transfer-Encoding:
  // chunked` of node:http's own), as the fast path sends it.
  if (judged.body === 'none') upstreamReq.useChunkedEncodingByDefault = false;

  let response: http.IncomingMessage | undefined;
  const countIn = (chunk: Buffer): void => options.trace?.bodyIn(chunk);
  const fail = (err: NodeJS.ErrnoException): void => {
    // The client hung up: there is no one to answer, only the upstream side to stop.
    if (err.code === 'ECONNRESET' && req.socket.destroyed) return void upstreamReq.destroy();
    // The answer arrived whole: what the gateway sent after it (or did to the connection) is not the client's concern.
    if (response?.complete) return;
    if (failed) return;
    failed = true;
    options.onError(err);
  };

  upstreamReq.on('response', (upstream: http.IncomingMessage) => {
    response = upstream;
    options.onResponse(upstream);
    if (res.headersSent || failed) {
      // Already answered (a drain timeout's 504, a broken client body's 400): this response has nowhere to go.
      upstream.destroy();
      return;
    }
    const status = upstream.statusCode!;
    const lengthKnown = upstream.headers['content-length'] !== undefined || judged.method === 'HEAD' || status === 204 || status === 304;
    const out = responseFields(upstream.rawHeaders);
    out.push('connection', options.keepClientAlive(lengthKnown) ? 'keep-alive' : 'close');
    try {
      if (upstream.statusMessage) res.writeHead(status, upstream.statusMessage, out);
      else res.writeHead(status, out);
      options.onHead?.(status, out, lengthKnown);
    } catch (err) {
      // A status or header Node will not write: nothing went out to the client yet.
      upstream.destroy();
      return fail(Object.assign(err as NodeJS.ErrnoException, { status }));
    }
    // An upstream that dies mid-body must not leave the client waiting for the rest.
    upstream.on('close', () => {
      if (!upstream.complete && !res.writableEnded) res.destroy();
    });
    const trace = options.trace;
    if (trace) upstream.on('data', (chunk: Buffer) => trace.bodyOut(chunk));
    upstream.pipe(res);
    // Answered before the client sent its whole body (a 401 or 413 before reading it, or a
    // gateway that never reads it): the rest is read and dropped here, as the gateway would
    // have done, so the client connection stays usable; the upstream one cannot be reused.
    upstream.once('end', () => {
      if (req.readableEnded) return;
      req.off('data', countIn); // what is dropped was never forwarded: not counted, as on the fast path
      req.unpipe(upstreamReq);
      req.resume();
      upstreamReq.destroy();
    });
  });
  // The client went away before its response finished: stop the upstream request.
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  req.on('error', fail);
  upstreamReq.on('error', fail);
  const finish = (): void => {
    const trailers = trailerFields(req.rawTrailers);
    if (trailers.length > 0) upstreamReq.addTrailers(trailers);
    upstreamReq.end();
  };
  // A retry sends a request whose (empty) body was read already.
  if (req.readableEnded) {
    finish();
  } else {
    const trace = options.trace;
    if (trace) req.on('data', countIn);
    req.pipe(upstreamReq, { end: false });
    req.on('end', finish);
  }
  return forwarding;
}

/** A chunked request body's trailer fields, as pairs, without framing, routing and hop-by-hop ones. */
function trailerFields(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) if (!NOT_TRAILERS.has(raw[i]!.toLowerCase())) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}
