import { REQUEST_HOP } from '../hop-headers.js';
import { CONTENT_LENGTH, FIELD_LINE, dropListed, joinValue, readHead, tokens, trimEnd } from './field-lines.js';

/** A client request head the fast path forwards as it is, rewritten for the gateway. */
export interface RequestHead {
  readonly method: string;
  /** Bytes the head took in the buffer, blank line included. */
  readonly size: number;
  /** Body bytes that follow the head (0 without Content-Length). */
  readonly contentLength: number;
  /** The client said `Connection: close`. */
  readonly close: boolean;
  /** The head to send upstream: hop-by-hop fields removed, X-Forwarded-* added. */
  readonly upstream: string;
}

/**
 * Why a head is left to node:http: `incomplete` (the blank line has not arrived yet) or
 * `unsupported` (anything the fast path does not forward itself: other versions and
 * methods, chunked or ambiguous bodies, upgrades, `Expect`, a missing or repeated
 * `Host`, and every malformed or oversized head, which node:http answers with its 4xx).
 */
export type NotFast = 'incomplete' | 'unsupported';

/** Methods the fast path forwards; node:http takes the rest (CONNECT, TRACE, extension methods). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
const REQUEST_LINE = /^([A-Z]+) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
/** Connection-level fields a proxy must not pass on (`Upgrade` never gets here: it goes to node:http). */
const HOP_BY_HOP = new Set(REQUEST_HOP);
/** The X-Forwarded-* fields baton appends to (For, Port, Proto) or fills in (Host). */
const FORWARDED = ['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto', 'x-forwarded-host'] as const;
type Forwarded = (typeof FORWARDED)[number];
const isForwarded = (name: string): name is Forwarded => (FORWARDED as readonly string[]).includes(name);
/** Fields whose presence sends the request to node:http. */
const NOT_FAST = new Set(['transfer-encoding', 'upgrade', 'expect']);

/**
 * Reads one request head from `buf` at `start`. `remoteAddress` goes into
 * X-Forwarded-For. The rewrite matches what the node:http path sends (forward-http.ts):
 * X-Forwarded-For/-Port/-Proto appended to the client's values, X-Forwarded-Host kept or
 * taken from Host, then `Connection: keep-alive` for the upstream connection.
 */
export function parseRequestHead(buf: Buffer, start: number, remoteAddress: string): RequestHead | NotFast {
  const head = readHead(buf, start);
  if (head === 'incomplete') return 'incomplete';
  if (head === 'too large') return 'unsupported';
  const { text, size } = head;
  const lineEnd = text.indexOf('\r\n');
  const requestLine = text.slice(0, lineEnd);
  const line = REQUEST_LINE.exec(requestLine);
  if (!line || !METHODS.has(line[1]!)) return 'unsupported';

  let kept = '';
  let host: string | undefined;
  let hosts = 0;
  let contentLength = -1;
  let close = false;
  let listed: string[] | undefined;
  /** What the client sent in each X-Forwarded-* field, repeated ones joined. */
  const sent: Partial<Record<Forwarded, string>> = {};
  FIELD_LINE.lastIndex = lineEnd + 2;
  while (FIELD_LINE.lastIndex < text.length) {
    const from = FIELD_LINE.lastIndex;
    const field = FIELD_LINE.exec(text);
    if (!field) return 'unsupported';
    const name = field[1]!.toLowerCase();
    const value = trimEnd(field[2]!);
    switch (name) {
      case 'host':
        hosts++;
        host = value;
        break;
      case 'content-length':
        if (contentLength !== -1 || !CONTENT_LENGTH.test(value)) return 'unsupported';
        contentLength = Number(value);
        break;
      case 'connection':
        for (const token of tokens(value)) {
          if (token === 'close') close = true;
          else if (token === 'upgrade') return 'unsupported';
          else if (token !== 'keep-alive') (listed ??= []).push(token);
        }
        continue;
      default:
        if (isForwarded(name)) {
          sent[name] = joinValue(sent[name], value);
          continue;
        }
        if (NOT_FAST.has(name)) return 'unsupported';
        if (HOP_BY_HOP.has(name)) continue;
        break;
    }
    kept += text.slice(from, FIELD_LINE.lastIndex);
  }
  if (hosts !== 1) return 'unsupported';
  if (listed) {
    // Naming a framing or routing field connection-level is left to node:http.
    if (listed.includes('host') || listed.includes('content-length')) return 'unsupported';
    kept = dropListed(kept, listed);
    // A field the client named in Connection is connection-level, X-Forwarded-* included.
    for (const name of listed) if (isForwarded(name)) delete sent[name];
  }
  const port = /:(\d+)$/.exec(host!)?.[1] ?? '80';
  const upstream =
    `${requestLine}\r\n${kept}` +
    `x-forwarded-for: ${append(sent['x-forwarded-for'], remoteAddress)}\r\n` +
    `x-forwarded-port: ${append(sent['x-forwarded-port'], port)}\r\n` +
    `x-forwarded-proto: ${append(sent['x-forwarded-proto'], 'http')}\r\n` +
    `x-forwarded-host: ${sent['x-forwarded-host'] || host}\r\n` +
    'connection: keep-alive\r\n\r\n';
  return { method: line[1]!, size, contentLength: Math.max(contentLength, 0), close, upstream };
}

function append(sent: string | undefined, value: string): string {
  return sent ? `${sent},${value}` : value;
}
