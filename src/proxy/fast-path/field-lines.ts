/**
 * The HTTP/1.1 syntax the fast path's heads share (RFC 9112), read and written. Heads
 * are read as latin1 strings, so every byte is one character and offsets in the string
 * are offsets in the buffer.
 */

/** The longest head either parser reads; node:http's default `maxHeaderSize`. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** A Content-Length value: digits only, short enough to be an exact number. */
export const CONTENT_LENGTH = /^\d{1,15}$/;

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/**
 * The head that starts at `start`: its text up to and including the last field line's
 * CRLF, and the bytes it takes with the blank line. `incomplete` until the blank line
 * has arrived; `too large` past MAX_HEAD_BYTES, ended or not.
 */
export function readHead(buf: Buffer, start: number): { text: string; size: number } | 'incomplete' | 'too large' {
  const end = buf.indexOf(CRLF_CRLF, start);
  if (end === -1) return buf.length - start > MAX_HEAD_BYTES ? 'too large' : 'incomplete';
  const size = end + 4 - start;
  if (size > MAX_HEAD_BYTES) return 'too large';
  return { text: buf.toString('latin1', start, end + 2), size };
}

/** node:http's keep-alive timeout, which the fast path keeps too. */
export const KEEP_ALIVE_MS = 5000;
const KEEP_ALIVE_FIELDS = `connection: keep-alive\r\nkeep-alive: timeout=${KEEP_ALIVE_MS / 1000}\r\n\r\n`;
const CLOSE_FIELDS = 'connection: close\r\n\r\n';

/** The end of every head baton writes to a client: its connection fields and the blank line. */
export function connectionFields(keepAlive: boolean): string {
  return keepAlive ? KEEP_ALIVE_FIELDS : CLOSE_FIELDS;
}

/**
 * One field line: a token name, a colon, optional whitespace, a value of visible
 * characters, spaces, tabs and obs-text, then CRLF. Obs-fold (a line starting with
 * whitespace), bare CR or LF and control bytes do not match. Sticky: a caller walks the
 * head line by line from `lastIndex`.
 */
export const FIELD_LINE = /([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*([^\x00-\x08\x0a-\x1f\x7f]*)\r\n/y;

/** A field value without the trailing whitespace the line pattern left on it. */
export function trimEnd(value: string): string {
  let end = value.length;
  while (end > 0 && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  return end === value.length ? value : value.slice(0, end);
}

/** The comma-separated tokens of a field value, trimmed and lower-cased, empty ones dropped. */
export function tokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase();
    if (token) out.push(token);
  }
  return out;
}

/** Joins repeated fields the way node:http does for most names, so both paths forward the same value. */
export function joinValue(previous: string | undefined, value: string): string {
  return previous === undefined ? value : `${previous}, ${value}`;
}

/** Removes the field lines (each ending in CRLF) whose names the Connection field listed. */
export function dropListed(lines: string, listed: readonly string[]): string {
  let out = '';
  for (const line of lines.split('\r\n')) {
    if (line && !listed.includes(line.slice(0, line.indexOf(':')).toLowerCase())) out += `${line}\r\n`;
  }
  return out;
}
