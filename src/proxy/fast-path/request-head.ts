import { MAX_RAW_HEAD_BYTES } from '../edge/limits.js';
import { isRefusal, judgeRequest, type Refusal } from '../edge/request-rules.js';
import { FIELD_LINE, trimEnd } from './field-lines.js';

/** A client request head the fast path forwards itself, rewritten for the gateway. */
export interface RequestHead {
  readonly method: string;
  /** Bytes the head took in the buffer (leading empty lines and the blank line included). */
  readonly size: number;
  /** Body bytes that follow the head (0 without Content-Length). */
  readonly contentLength: number;
  /** The client said `Connection: close`. */
  readonly close: boolean;
  /** The request-target as the client sent it. */
  readonly target: string;
  /** The authority it is for (edge/request-rules.ts `Judged.host`): the SNI when the instance speaks TLS. */
  readonly host: string;
  /** `baton-generation`: the live generation it asks for, if any. */
  readonly pin: number | undefined;
  /** The head as received (request line and field lines, each ending CRLF), for the inspector. */
  readonly text: string;
  /** The head to send upstream: the judged fields (edge/request-rules.ts) and `Connection: keep-alive`. */
  readonly upstream: string;
}

/**
 * What the fast path does with the bytes at the start of a request: wait for the rest
 * of the head (`incomplete`), forward it (a `RequestHead`), refuse it (a `Refusal`,
 * answered by baton, which then closes the connection), or hand the connection to
 * node:http (`hand-over`: a valid request the fast path does not carry: HTTP/1.0, other
 * methods, a chunked body, `Expect`, a WebSocket upgrade). node:http judges a head it
 * is handed by the same rules, so the hand-over never changes what a request means.
 */
export type HeadVerdict = RequestHead | Refusal | 'incomplete' | 'hand-over';

/** Methods the fast path forwards; node:http takes the rest (TRACE, extension methods). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
/** method SP request-target SP HTTP-version, single spaces, visible ASCII only (RFC 9112 §3). */
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP\/(\d\.\d)$/;
const CRLF_CRLF = Buffer.from('\r\n\r\n');

const bad = (reason: string): Refusal => ({ status: 400, reason });

/**
 * Reads one request head from `buf` at `start`. Syntax is checked on the raw bytes
 * (single spaces in the request line, CRLF line ends only: no bare CR or LF, no
 * obs-fold, no whitespace before a colon, no control bytes), then the fields are judged
 * (edge/request-rules.ts), the same rules node:http's path applies.
 */
export function parseRequestHead(buf: Buffer, start: number, remoteAddress: string, localAuthority: string, secure = false): HeadVerdict {
  // RFC 9112 §2.2: empty lines before a request line are ignored (node:http does too).
  let from = start;
  while (buf[from] === 0x0d && buf[from + 1] === 0x0a) from += 2;
  const end = buf.indexOf(CRLF_CRLF, from);
  if (end === -1) {
    if (buf.length - from > MAX_RAW_HEAD_BYTES) return { status: 431, reason: `request head larger than ${MAX_RAW_HEAD_BYTES / 1024} KiB` };
    return hasBareLineBreak(buf, from) ? bad('a line ends in a bare CR or LF, not CRLF') : 'incomplete';
  }
  if (end + 4 - from > MAX_RAW_HEAD_BYTES) return { status: 431, reason: `request head larger than ${MAX_RAW_HEAD_BYTES / 1024} KiB` };
  const text = buf.toString('latin1', from, end + 2);
  const lineEnd = text.indexOf('\r\n');
  const line = REQUEST_LINE.exec(text.slice(0, lineEnd));
  if (!line) return bad('malformed request line');

  const fields: string[] = [];
  FIELD_LINE.lastIndex = lineEnd + 2;
  while (FIELD_LINE.lastIndex < text.length) {
    const field = FIELD_LINE.exec(text);
    if (!field) return bad(fieldProblem(text, FIELD_LINE.lastIndex));
    fields.push(field[1]!, trimEnd(field[2]!));
  }
  const judged = judgeRequest({ method: line[1]!, target: line[2]!, version: line[3]!, fields, remoteAddress, localAuthority, secure });
  if (isRefusal(judged)) return judged;
  if (judged.version !== '1.1' || !METHODS.has(judged.method) || judged.body === 'chunked' || judged.expectContinue || judged.websocket) return 'hand-over';
  let upstream = `${judged.method} ${judged.target} HTTP/1.1\r\n`;
  const out = judged.fields;
  for (let i = 0; i < out.length; i += 2) upstream += `${out[i]}: ${out[i + 1]}\r\n`;
  upstream += 'connection: keep-alive\r\n\r\n';
  return { method: judged.method, size: end + 4 - start, contentLength: judged.contentLength, close: judged.close, target: line[2]!, host: judged.host, pin: judged.pin, text, upstream };
}

/** Why the field line at `at` did not parse, for the 400's text. */
function fieldProblem(text: string, at: number): string {
  const first = text.charCodeAt(at);
  if (first === 0x20 || first === 0x09) return 'obs-fold (a field line starting with whitespace)';
  const lineEnd = text.indexOf('\r\n', at);
  const line = text.slice(at, lineEnd === -1 ? undefined : lineEnd);
  if (/[\r\n]/.test(line)) return 'a line ends in a bare CR or LF, not CRLF';
  if (/^[^:]*[ \t]:/.test(line)) return 'whitespace before the colon of a field';
  if (!line.includes(':')) return 'a field line without a colon';
  return 'invalid character in a header field';
}

/** A LF without its CR, or a CR followed by anything but LF, in what has arrived of a head. */
function hasBareLineBreak(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(0x0a, from); i !== -1; i = buf.indexOf(0x0a, i + 1)) if (i === from || buf[i - 1] !== 0x0d) return true;
  for (let i = buf.indexOf(0x0d, from); i !== -1 && i + 1 < buf.length; i = buf.indexOf(0x0d, i + 1)) if (buf[i + 1] !== 0x0a) return true;
  return false;
}
