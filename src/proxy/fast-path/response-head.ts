import { STATUS_CODES } from 'node:http';
import { statusBelow100 } from '../answer-texts.js';
import { RESPONSE_HOP } from '../hop-headers.js';
import { CONTENT_LENGTH, FIELD_LINE, connectionFields, dropListed, readHead, tokens, trimEnd } from './field-lines.js';
import { LastHead } from './last-head.js';

/**
 * How a response body is framed on the gateway's connection (RFC 9112 §6.3): none (HEAD,
 * 204, 304), a Content-Length, chunked, or until the gateway closes the connection.
 */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close';

/** A gateway response head, rewritten for the client. */
export interface ResponseHead {
  readonly status: number;
  /** Bytes the head took in the buffer, blank line included. */
  readonly size: number;
  /** A 1xx other than 101: dropped, the real response follows (node:http does not pass them on either). */
  readonly interim: boolean;
  readonly body: BodyFraming;
  readonly contentLength: number;
  /** The gateway closes this connection after the response (or never promised to keep it). */
  readonly close: boolean;
  /** The gateway's `Keep-Alive: timeout=N` hint, in ms. */
  readonly keepAliveMs: number | undefined;
  /**
   * The head for the client without its connection block: status line and end-to-end
   * fields, plus `Transfer-Encoding: chunked` when the body is re-framed (chunked and
   * close-delimited bodies go to the client chunked). The caller adds
   * `Connection`/`Keep-Alive` and the blank line.
   */
  readonly client: string;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
/** Connection-level fields not passed to the client; Transfer-Encoding is baton's to set. */
const HOP_BY_HOP = new Set(RESPONSE_HOP);

/**
 * Reads one response head from `buf` at `start`; `headRequest` says the request was a
 * HEAD (no body whatever the fields say). Returns `incomplete` until the blank line has
 * arrived, or an error text for a head baton will not pass on (malformed, oversized,
 * conflicting lengths, a status outside 100–999 as node:http enforces, an unasked-for 101).
 */
export function parseResponseHead(buf: Buffer, start: number, headRequest: boolean): ResponseHead | 'incomplete' | { error: string } {
  const head = readHead(buf, start);
  if (head === 'incomplete') return 'incomplete';
  if (head === 'too large') return { error: 'response head too large' };
  const { text, size } = head;
  const lineEnd = text.indexOf('\r\n');
  const line = STATUS_LINE.exec(text.slice(0, lineEnd));
  if (!line) return { error: 'malformed status line' };
  const status = Number(line[2]);
  if (status < 100) return { error: statusBelow100(status) };
  if (status === 101) return { error: 'unexpected 101 Switching Protocols' };

  let kept = '';
  let contentLength = -1;
  let chunked = false;
  let encoded = false;
  let close = line[1] === '0';
  let listed: string[] | undefined;
  let keepAliveMs: number | undefined;
  FIELD_LINE.lastIndex = lineEnd + 2;
  while (FIELD_LINE.lastIndex < text.length) {
    const from = FIELD_LINE.lastIndex;
    const field = FIELD_LINE.exec(text);
    if (!field) return { error: 'malformed header field' };
    const name = field[1]!.toLowerCase();
    const value = trimEnd(field[2]!);
    if (name === 'content-length') {
      if (!CONTENT_LENGTH.test(value)) return { error: 'Content-Length not a number' };
      if (contentLength !== -1 && contentLength !== Number(value)) return { error: 'conflicting Content-Length' };
      contentLength = Number(value);
      continue; // written back below unless the body is re-framed
    }
    if (name === 'transfer-encoding') {
      encoded = true;
      const codings = tokens(value);
      chunked = codings[codings.length - 1] === 'chunked';
    } else if (name === 'connection') {
      for (const token of tokens(value)) {
        if (token === 'close') close = true;
        else if (token === 'keep-alive') close &&= line[1] !== '0';
        else (listed ??= []).push(token);
      }
    } else if (name === 'keep-alive') {
      const seconds = /(?:^|[,;\s])timeout=(\d+)/i.exec(value)?.[1];
      if (seconds !== undefined) keepAliveMs = Number(seconds) * 1000;
    }
    if (!HOP_BY_HOP.has(name)) kept += text.slice(from, FIELD_LINE.lastIndex);
  }
  if (listed) kept = dropListed(kept, listed);

  const interim = status < 200;
  let body: BodyFraming;
  if (interim || headRequest || status === 204 || status === 304) body = 'none';
  else if (encoded) body = chunked ? 'chunked' : 'close';
  else if (contentLength !== -1) body = 'length';
  else body = 'close';
  // A close-delimited body ends only when the gateway closes, so that connection is spent.
  if (body === 'close') close = true;

  let client = `HTTP/1.1 ${line[2]} ${line[3] || STATUS_CODES[status] || ''}\r\n${kept}`;
  if (body === 'chunked' || body === 'close') client += 'transfer-encoding: chunked\r\n';
  else if (contentLength !== -1 && !(encoded && body === 'none')) client += `content-length: ${contentLength}\r\n`;
  return { status, size, interim, body, contentLength: Math.max(contentLength, 0), close, keepAliveMs, client };
}

/** A response head as read for one kind of request (HEAD or not), with the client's head encoded once per connection choice. */
class ReadResponse {
  readonly headRequest: boolean;
  readonly head: ResponseHead;
  #keep: Buffer | undefined;
  #close: Buffer | undefined;

  constructor(headRequest: boolean, head: ResponseHead) {
    this.headRequest = headRequest;
    this.head = head;
  }

  /** The head for the client, connection fields and blank line included, as bytes. */
  clientHead(keepAlive: boolean): Buffer {
    if (keepAlive) return (this.#keep ??= Buffer.from(this.head.client + connectionFields(true), 'latin1'));
    return (this.#close ??= Buffer.from(this.head.client + connectionFields(false), 'latin1'));
  }
}

/**
 * The response heads one upstream connection brings, read with `parseResponseHead`; the
 * last one is remembered (last-head.ts), so the same answer again costs one comparison.
 */
export class ResponseHeads {
  readonly #last = new LastHead<ReadResponse>();

  /** Reads the head at `start` of `buf`: a `ReadResponse` (with its `head`), `incomplete`, or an error. */
  read(buf: Buffer, start: number, headRequest: boolean): ReadResponse | 'incomplete' | { error: string } {
    const last = this.#last.match(buf, start);
    if (last !== undefined && last.headRequest === headRequest) return last;
    const head = parseResponseHead(buf, start, headRequest);
    if (head === 'incomplete' || 'error' in head) return head;
    const read = new ReadResponse(headRequest, head);
    this.#last.remember(buf, start, head.size, read);
    return read;
  }
}

export type { ReadResponse };
