/**
 * Fields that describe one connection, not the message (RFC 9110 §7.6.1): they never
 * cross baton, on either data path. Client connection semantics are baton's own.
 */

/**
 * Request fields never forwarded (`upgrade` is kept on a WebSocket upgrade, which is
 * tunnelled; `http2-settings` belongs to an h2c upgrade, which baton drops).
 * Transfer-Encoding is not here: a chunked body is forwarded chunked.
 */
export const REQUEST_HOP: readonly string[] = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'upgrade', 'http2-settings'];

/** Response fields never passed to the client; Transfer-Encoding is the framing baton sets itself. */
export const RESPONSE_HOP: readonly string[] = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'trailer', 'upgrade', 'transfer-encoding'];

const RESPONSE_HOP_SET = new Set(RESPONSE_HOP);

/**
 * A gateway response's field lines (`rawHeaders`, flat), in order, without the
 * hop-by-hop ones and those its Connection field lists: what node:http's path writes to
 * the client, the same lines the fast path passes (fast-path/response-head.ts).
 */
export function responseFields(raw: readonly string[]): string[] {
  let listed: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && name !== 'close' && name !== 'keep-alive') (listed ??= []).push(name);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (RESPONSE_HOP_SET.has(name) || listed?.includes(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** Flat field lines as node:http's outgoing headers: one key per name, repeated lines kept as arrays, in order. */
export function headerObject(fields: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const keys = new Map<string, string>();
  for (let i = 0; i < fields.length; i += 2) {
    const lower = fields[i]!.toLowerCase();
    const key = keys.get(lower);
    if (key === undefined) {
      keys.set(lower, fields[i]!);
      out[fields[i]!] = fields[i + 1]!;
    } else {
      const previous = out[key]!;
      out[key] = Array.isArray(previous) ? [...previous, fields[i + 1]!] : [previous, fields[i + 1]!];
    }
  }
  return out;
}
