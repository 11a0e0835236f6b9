import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1): they must
 * not cross a proxy. `transfer-encoding` stays on requests: Node frames the body
 * upstream from it. Client connection semantics are baton's own (see front-server).
 */
export const REQUEST_HOP: readonly string[] = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'];
export const RESPONSE_HOP: readonly string[] = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'trailer', 'upgrade'];

/** Removes hop-by-hop headers, including any the Connection header names, in place. */
function strip(headers: IncomingHttpHeaders, fixed: readonly string[]): void {
  const listed = headers.connection;
  if (listed) {
    for (const name of listed.split(',')) {
      const key = name.trim().toLowerCase();
      if (key && key !== 'transfer-encoding') delete headers[key];
    }
  }
  for (const name of fixed) if (name in headers) delete headers[name];
}

export function stripRequestHopHeaders(headers: IncomingHttpHeaders): void {
  strip(headers, REQUEST_HOP);
}

export function stripResponseHopHeaders(headers: IncomingHttpHeaders): void {
  strip(headers, RESPONSE_HOP);
}
