import { REQUEST_HOP } from '../hop-headers.js';
import { MAX_FIELDS, MAX_HEAD_BYTES } from './limits.js';

/**
 * The strict edge: what a request head means, decided once by one set of rules for
 * both data paths. baton stands between every client and the gateway, so a request
 * must mean exactly the same thing to both; where a head could be read two ways, it is
 * refused (RFC 9112 §6.3, §3.2, §5; RFC 9110 §7.6.1), never repaired by a guess.
 *
 * The fast path feeds it the fields it read from the raw bytes; node:http's path feeds
 * it `req.rawHeaders`. Either way the answer is a `Judged` request, which says what goes
 * upstream, or a `Refusal`, which baton answers itself and after which it closes the
 * connection. Syntax the two parsers see differently (bare CR or LF, obs-fold, control
 * bytes) is refused before this, by each parser.
 */

/** A request head as a parser read it. */
export interface HeadIn {
  readonly method: string;
  /** The request-target as sent. */
  readonly target: string;
  /** `1.1`, `1.0`, or whatever the request line said. */
  readonly version: string;
  /** Field lines in order, flat: name, value, name, value… (names as sent, values trimmed). */
  readonly fields: readonly string[];
  /** The client's address, appended to X-Forwarded-For. */
  readonly remoteAddress: string;
  /** `host:port` the client connected to: the Host of a request that has none (HTTP/1.0). */
  readonly localAuthority: string;
  /** It came in TLS: X-Forwarded-Proto is `https`, and a Host without a port means 443. */
  readonly secure?: boolean;
}

/** How the request's body is framed on the client connection. */
export type RequestBody = 'none' | 'length' | 'chunked';

/** A request baton forwards, as it goes upstream. */
export interface Judged {
  readonly method: string;
  /** The target to send: origin-form (absolute-form is rewritten), or `*`. */
  readonly target: string;
  readonly version: '1.0' | '1.1';
  /** The authority the request is for: the target's (absolute-form), else Host, else `localAuthority`. */
  readonly host: string;
  /**
   * The fields to send, flat, in the client's order: hop-by-hop ones and those the
   * client listed in `Connection` removed (never Host, Content-Length or
   * Transfer-Encoding), Host as above, then X-Forwarded-For/-Port/-Proto/-Host.
   * No Connection field: each path adds its own.
   */
  readonly fields: string[];
  readonly body: RequestBody;
  /** The Content-Length, or 0. */
  readonly contentLength: number;
  /** The client asked to close after this request (`Connection: close`, or HTTP/1.0 without keep-alive). */
  readonly close: boolean;
  /** A WebSocket upgrade (GET, `Connection: upgrade`, `Upgrade: websocket`): tunnelled. Any other Upgrade is dropped. */
  readonly websocket: boolean;
  /** `Expect: 100-continue`. */
  readonly expectContinue: boolean;
  /** `baton-generation: <n>`: the request goes to that live generation (a preview), not the serving one. Never forwarded. */
  readonly pin: number | undefined;
}

/** A request baton answers itself, then closes the connection. */
export interface Refusal {
  readonly status: 400 | 417 | 431 | 501 | 505;
  /** One line for the answer's body: what is wrong. */
  readonly reason: string;
}

export function isRefusal(result: Judged | Refusal): result is Refusal {
  return (result as Refusal).status !== undefined;
}

const HOP_BY_HOP = new Set(REQUEST_HOP);
/** The field that sends a request to one live generation (a preview before promotion). */
export const PIN_FIELD = 'baton-generation';
/** Fields a client may name in `Connection` without effect: removing them would change the framing or the route. */
const PROTECTED = new Set(['host', 'content-length', 'transfer-encoding']);
/** The X-Forwarded-* fields baton appends to (For, Port, Proto) or fills in (Host). */
const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto', 'x-forwarded-host']);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** uri-host [":" port] (RFC 9110 §7.2): an IP literal or a reg-name, no userinfo, no path. */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::\d*)?$/;
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/i;
const CONTENT_LENGTH = /^\d{1,15}$/;

const refuse = (status: Refusal['status'], reason: string): Refusal => ({ status, reason });

/** Decides what a request head means, or why baton answers it itself. */
export function judgeRequest(head: HeadIn): Judged | Refusal {
  const { method, version, fields } = head;
  if (version !== '1.1' && version !== '1.0') {
    return version === '2.0' ? refuse(505, 'HTTP/2 needs TLS (ALPN) and is not spoken on this port; send HTTP/1.1') : refuse(400, `unsupported HTTP version ${version || '(none)'}`);
  }
  if (!TOKEN.test(method)) return refuse(400, 'invalid method');
  if (method === 'CONNECT') return refuse(501, 'CONNECT is not supported: baton does not tunnel');
  if (fields.length > MAX_FIELDS * 2) return refuse(431, `more than ${MAX_FIELDS} header fields`);

  // The target's form (RFC 9112 §3.2) and, for absolute-form, the authority it names.
  let target = head.target;
  let authority: string | undefined;
  if (target === '*') {
    if (method !== 'OPTIONS') return refuse(400, 'the asterisk target is only for OPTIONS');
  } else if (target[0] !== '/') {
    const absolute = ABSOLUTE_FORM.exec(target);
    if (!absolute) return refuse(400, 'request target in no form baton forwards');
    authority = absolute[1]!;
    if (authority === '' || authority.includes('@') || !AUTHORITY.test(authority)) return refuse(400, 'invalid authority in the request target');
    const rest = absolute[2]!;
    target = rest === '' ? (method === 'OPTIONS' ? '*' : '/') : rest[0] === '?' ? `/${rest}` : rest;
    if (target[0] !== '/' && target !== '*') return refuse(400, 'invalid request target');
  }

  let size = method.length + head.target.length + 12 + 2;
  let hostAt = -1;
  let hosts = 0;
  let contentLength = -1;
  let lengths = 0;
  let codings = 0;
  let chunked = false;
  let emptyCoding = false;
  let closeAsked = false;
  let keepAliveAsked = false;
  let connectionUpgrade = false;
  let upgradeWebSocket = false;
  let expectContinue = false;
  let pin: number | undefined;
  let listed: string[] | undefined;
  const sent: Record<string, string> = {};
  /** Each field's name in lower case, worked out once for both passes. */
  const lower: string[] = new Array(fields.length >> 1);
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    size += name.length + value.length + 3;
    const key = (lower[i >> 1] = name.toLowerCase());
    switch (key) {
      case 'host':
        hosts++;
        hostAt = i;
        break;
      case 'content-length':
        lengths++;
        contentLength = CONTENT_LENGTH.test(value) ? Number(value) : -2;
        break;
      case 'transfer-encoding':
        for (const coding of value.split(',')) {
          const token = coding.trim();
          if (token === '') continue;
          codings++;
          chunked = token.toLowerCase() === 'chunked';
        }
        if (value.trim() === '') emptyCoding = true;
        break;
      case 'connection':
        for (const part of value.split(',')) {
          const token = part.trim().toLowerCase();
          if (token === 'close') closeAsked = true;
          else if (token === 'keep-alive') keepAliveAsked = true;
          else if (token === 'upgrade') connectionUpgrade = true;
          else if (token !== '' && !PROTECTED.has(token)) (listed ??= []).push(token);
        }
        break;
      case 'upgrade':
        for (const part of value.split(',')) if (part.trim().toLowerCase() === 'websocket') upgradeWebSocket = true;
        break;
      case 'expect':
        if (value.toLowerCase() !== '100-continue') return refuse(417, `unsupported Expect: ${value}`);
        expectContinue = true;
        break;
      case PIN_FIELD:
        if (pin !== undefined || !/^[1-9]\d{0,8}$/.test(value)) return refuse(400, `${PIN_FIELD} must be one generation number, got "${value}"`);
        pin = Number(value);
        break;
      default:
        if (FORWARDED.has(key)) sent[key] = sent[key] === undefined ? value : `${sent[key]}, ${value}`;
    }
  }
  if (size > MAX_HEAD_BYTES) return refuse(431, `request head larger than ${MAX_HEAD_BYTES / 1024} KiB`);

  // Host (RFC 9112 §3.2): exactly one in HTTP/1.1, at most one in HTTP/1.0, well formed.
  if (hosts > 1) return refuse(400, 'more than one Host field');
  if (hosts === 0 && version === '1.1') return refuse(400, 'HTTP/1.1 request without Host');
  const hostField = hostAt === -1 ? undefined : fields[hostAt + 1]!;
  if (hostField !== undefined && !AUTHORITY.test(hostField)) return refuse(400, 'invalid Host');
  const host = authority ?? hostField ?? head.localAuthority;

  // Framing (RFC 9112 §6.1–6.3): one way to find the body's end, or a 400.
  let body: RequestBody = 'none';
  if (codings > 0 || emptyCoding) {
    if (version === '1.0') return refuse(400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (lengths > 0) return refuse(400, 'both Content-Length and Transfer-Encoding');
    if (codings !== 1 || !chunked || emptyCoding) return refuse(400, 'Transfer-Encoding other than a single chunked');
    body = 'chunked';
  } else if (lengths > 0) {
    if (lengths > 1) return refuse(400, 'more than one Content-Length field');
    if (contentLength < 0) return refuse(400, 'Content-Length is not a number');
    body = 'length';
  }

  const close = closeAsked || (version === '1.0' && !keepAliveAsked);
  const websocket = upgradeWebSocket && connectionUpgrade && method === 'GET';
  const out: string[] = [];
  if (hostAt === -1) out.push('host', host);
  let cookieAt = -1;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const key = lower[i >> 1]!;
    if (FORWARDED.has(key) || key === PIN_FIELD) continue;
    if (HOP_BY_HOP.has(key)) {
      if (websocket && key === 'upgrade') out.push(name, fields[i + 1]!);
      continue;
    }
    if (listed?.includes(key)) continue;
    if (key === 'cookie') {
      // Repeated Cookie lines become one, joined by "; " (RFC 6265 §5.4, RFC 9113 §8.2.3), as node:http sends them.
      if (cookieAt !== -1) {
        out[cookieAt + 1] += `; ${fields[i + 1]!}`;
        continue;
      }
      cookieAt = out.length;
    }
    out.push(name, i === hostAt ? host : fields[i + 1]!);
  }
  // A field the client named in Connection is connection-level, X-Forwarded-* included.
  const own = (key: string): string | undefined => (listed?.includes(key) ? undefined : sent[key]);
  const port = /:(\d+)$/.exec(host)?.[1] ?? (head.secure ? '443' : '80');
  out.push(
    'x-forwarded-for', append(own('x-forwarded-for'), head.remoteAddress),
    'x-forwarded-port', append(own('x-forwarded-port'), port),
    'x-forwarded-proto', append(own('x-forwarded-proto'), head.secure ? 'https' : 'http'),
    'x-forwarded-host', own('x-forwarded-host') || host,
  );
  return { method, target, version, host, fields: out, body, contentLength: Math.max(contentLength, 0), close, websocket, expectContinue, pin };
}

function append(sent: string | undefined, value: string): string {
  return sent ? `${sent},${value}` : value;
}

/** The authority a client reached on a local address, for a request without Host. */
export function localAuthority(address: string | undefined, port: number | undefined): string {
  const host = address === undefined ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
  return `${host}:${port ?? 80}`;
}
