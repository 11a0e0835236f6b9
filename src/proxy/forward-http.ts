import http from 'node:http';
import { stripRequestHopHeaders, stripResponseHopHeaders } from './hop-headers.js';

/** Where one request goes, and what the caller decides for it. */
export interface ForwardOptions {
  /** The upstream address: a generation's private port. */
  readonly target: { readonly host: string; readonly port: number };
  /** A keep-alive agent, or `false` for a one-off connection. */
  readonly agent: http.Agent | false;
  /**
   * Whether the client connection stays open after this response: the caller's decision
   * (its own state and the client's keep-alive), asked when the upstream response
   * arrives. The gateway's `Connection` header never reaches the client.
   */
  readonly keepClientAlive: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** The upstream response arrived; called before its head is written to the client. */
  readonly onResponse: (res: http.ServerResponse, upstream: http.IncomingMessage) => void;
  /**
   * The attempt failed; called at most once per `forwardHttp` call. Before
   * `res.headersSent` the caller may retry or answer; after it, only end the connection.
   */
  readonly onError: (err: NodeJS.ErrnoException) => void;
}

/**
 * Forwards one client request to one upstream and streams the answer back. Upstream go
 * the client's method, path and `Host` as sent, its other headers without hop-by-hop
 * ones, plus `X-Forwarded-For/-Port/-Proto/-Host`; the body is piped. Back come the
 * status and headers without hop-by-hop ones, in one `writeHead`, and the body piped.
 *
 * An upstream that dies mid-body destroys the client response (the client sees the cut,
 * never a short body it could take as complete); a client that goes away before its
 * response finished aborts the upstream request.
 */
export function forwardHttp(req: http.IncomingMessage, res: http.ServerResponse, options: ForwardOptions): void {
  const headers: http.OutgoingHttpHeaders = { ...req.headers };
  stripRequestHopHeaders(headers as http.IncomingHttpHeaders);
  addForwardedHeaders(req, headers);
  let upstreamReq: http.ClientRequest;
  try {
    upstreamReq = http.request({ host: options.target.host, port: options.target.port, method: req.method, path: req.url, headers, agent: options.agent });
  } catch (err) {
    // Node refused to send the request line or a header: nothing went out.
    return options.onError(err as NodeJS.ErrnoException);
  }

  let failed = false;
  const fail = (err: NodeJS.ErrnoException): void => {
    // The client hung up: there is no one to answer, only the upstream side to stop.
    if (err.code === 'ECONNRESET' && req.socket.destroyed) return void upstreamReq.destroy();
    if (failed) return;
    failed = true;
    options.onError(err);
  };

  upstreamReq.on('response', (upstream: http.IncomingMessage) => {
    options.onResponse(res, upstream);
    if (res.headersSent) {
      // Already answered (a drain timeout's 504): this response has nowhere to go.
      upstream.destroy();
      return;
    }
    const out = upstream.headers;
    stripResponseHopHeaders(out);
    delete out['transfer-encoding']; // Node frames the body for the client itself.
    out.connection = options.keepClientAlive(req, res) ? 'keep-alive' : 'close';
    try {
      if (upstream.statusMessage) res.writeHead(upstream.statusCode!, upstream.statusMessage, out);
      else res.writeHead(upstream.statusCode!, out);
    } catch (err) {
      // A status or header Node will not write: nothing went out to the client yet.
      upstream.destroy();
      return fail(Object.assign(err as NodeJS.ErrnoException, { status: upstream.statusCode }));
    }
    // An upstream that dies mid-body must not leave the client waiting for the rest.
    upstream.on('close', () => {
      if (!upstream.complete && !res.writableEnded) res.destroy();
    });
    upstream.pipe(res);
  });
  // The client went away before its response finished: stop the upstream request.
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  req.on('error', fail);
  upstreamReq.on('error', fail);
  req.pipe(upstreamReq);
}

/**
 * The values http-proxy-3's `xfwd` option produced, so gateways see no difference, read
 * after hop-by-hop stripping: `X-Forwarded-For`, `-Port` (from the Host header, else 80)
 * and `-Proto` appended to what the client sent, joined with a comma; `X-Forwarded-Host`
 * kept if present, else the Host header.
 */
function addForwardedHeaders(req: http.IncomingMessage, headers: http.OutgoingHttpHeaders): void {
  const host = headers.host as string | undefined;
  append(headers, 'x-forwarded-for', req.socket.remoteAddress ?? '');
  append(headers, 'x-forwarded-port', /:(\d+)$/.exec(host ?? '')?.[1] ?? '80');
  append(headers, 'x-forwarded-proto', 'http');
  headers['x-forwarded-host'] = (headers['x-forwarded-host'] as string | undefined) || host || '';
}

function append(headers: http.OutgoingHttpHeaders, name: string, value: string): void {
  const sent = headers[name] as string | undefined;
  headers[name] = sent ? `${sent},${value}` : value;
}
