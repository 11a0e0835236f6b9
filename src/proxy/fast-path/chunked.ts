/** A chunked body that does not follow RFC 9112 §7.1. */
export class ChunkedSyntaxError extends Error {
  override name = 'ChunkedSyntaxError';
}

const enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  FinalLf,
}

/** Most hex digits a chunk size may have (2^48 bytes). */
const MAX_SIZE_DIGITS = 12;
/** Most bytes of chunk extensions and trailer fields, which are read and dropped. */
const MAX_METADATA = 16 * 1024;

/**
 * Decodes a chunked body as it arrives, in any split. Chunk data goes to `onData` as
 * slices of the input (no copies); extensions and trailer fields are dropped, as
 * node:http's path drops them.
 */
export class ChunkedDecoder {
  #state = State.Size;
  #size = 0;
  #digits = 0;
  #metadata = 0;

  /**
   * Reads `buf` from `start`. Returns the offset just past the end of the body, or -1
   * when the body goes on in the next buffer. Throws ChunkedSyntaxError.
   */
  feed(buf: Buffer, start: number, onData: (data: Buffer) => void): number {
    let i = start;
    while (i < buf.length) {
      if (this.#state === State.Data) {
        const take = Math.min(this.#size, buf.length - i);
        onData(buf.subarray(i, i + take));
        this.#size -= take;
        i += take;
        if (this.#size === 0) this.#state = State.DataCr;
        continue;
      }
      const c = buf[i++]!;
      switch (this.#state) {
        case State.Size: {
          const digit = hexValue(c);
          if (digit !== -1) {
            if (++this.#digits > MAX_SIZE_DIGITS) throw new ChunkedSyntaxError('chunk size too large');
            this.#size = this.#size * 16 + digit;
          } else if (this.#digits === 0) {
            throw new ChunkedSyntaxError('missing chunk size');
          } else if (c === 0x0d) {
            this.#state = State.SizeLf;
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.#state = State.Extension;
          } else {
            throw new ChunkedSyntaxError('invalid chunk size');
          }
          break;
        }
        case State.Extension:
          if (c === 0x0d) this.#state = State.SizeLf;
          else this.#countMetadata(c);
          break;
        case State.SizeLf:
          expect(c, 0x0a);
          this.#digits = 0;
          this.#state = this.#size === 0 ? State.TrailerStart : State.Data;
          break;
        case State.DataCr:
          expect(c, 0x0d);
          this.#state = State.DataLf;
          break;
        case State.DataLf:
          expect(c, 0x0a);
          this.#state = State.Size;
          break;
        case State.TrailerStart:
          if (c === 0x0d) {
            this.#state = State.FinalLf;
          } else {
            this.#countMetadata(c);
            this.#state = State.TrailerLine;
          }
          break;
        case State.TrailerLine:
          if (c === 0x0d) this.#state = State.TrailerLf;
          else this.#countMetadata(c);
          break;
        case State.TrailerLf:
          expect(c, 0x0a);
          this.#state = State.TrailerStart;
          break;
        case State.FinalLf:
          expect(c, 0x0a);
          return i;
      }
    }
    return -1;
  }

  #countMetadata(c: number): void {
    if (c === 0x0a || (c < 0x20 && c !== 0x09) || c === 0x7f) throw new ChunkedSyntaxError('control byte in chunk metadata');
    if (++this.#metadata > MAX_METADATA) throw new ChunkedSyntaxError('chunk extensions or trailers too large');
  }
}

function expect(c: number, wanted: number): void {
  if (c !== wanted) throw new ChunkedSyntaxError('missing CRLF in chunked body');
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** The chunk-size line for `length` bytes of data, as baton frames bodies for its clients. */
export function chunkHeader(length: number): string {
  return `${length.toString(16)}\r\n`;
}

/** The last chunk with no trailer: the clean end of a chunked body. */
export const LAST_CHUNK = '0\r\n\r\n';
