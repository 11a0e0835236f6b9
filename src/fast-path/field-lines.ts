/**
 * The HTTP/1.1 syntax both head parsers share (RFC 9112). Heads are read as latin1
 * strings, so every byte is one character and offsets in the string are offsets in the
 * buffer.
 */

/** The longest head either parser reads; node:http's default `maxHeaderSize`. */
export const MAX_HEAD_BYTES = 16 * 1024;

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
