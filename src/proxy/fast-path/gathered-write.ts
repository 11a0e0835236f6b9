import type net from 'node:net';

/** Up to this many bytes are copied into one buffer; larger output is written piece by piece. */
const COPY_LIMIT = 16 * 1024;

/**
 * Output for one socket, gathered while one read is handled and written with one call.
 * Small output (a head and the body that came with it, a few re-framed chunks) is copied
 * into one buffer: one plain write costs less than a `writev` of strings and slices
 * (the socket writes are most of the fast path's CPU time). Strings are latin1 (heads and
 * chunk lines are ASCII).
 */
export class GatheredWrite {
  readonly #parts: Array<string | Buffer> = [];
  #size = 0;
  /**
   * After a flush: the socket may still hold one of the gathered buffers itself (a write
   * not finished when `write` returned), so the memory under it must not be reused yet.
   * False when everything was copied, or the kernel took it all at once.
   */
  held = false;

  text(s: string): void {
    this.#parts.push(s);
    this.#size += s.length;
  }

  bytes(b: Buffer): void {
    this.#parts.push(b);
    this.#size += b.length;
  }

  /** Drops what was gathered. */
  clear(): void {
    this.#parts.length = 0;
    this.#size = 0;
  }

  /** Writes what was gathered to `socket` and starts afresh; returns what `socket.write` said (false: wait for 'drain'). */
  flush(socket: net.Socket): boolean {
    const parts = this.#parts;
    this.held = false;
    if (parts.length === 0) return true;
    let flowing: boolean;
    if (parts.length === 1) {
      const only = parts[0]!;
      flowing = typeof only === 'string' ? socket.write(only, 'latin1') : socket.write(only);
      this.held = typeof only !== 'string' && socket.writableLength > 0;
    } else if (this.#size <= COPY_LIMIT) {
      const out = Buffer.allocUnsafe(this.#size);
      let at = 0;
      for (const part of parts) at += typeof part === 'string' ? out.write(part, at, 'latin1') : part.copy(out, at);
      flowing = socket.write(out);
    } else {
      socket.cork();
      for (const part of parts) typeof part === 'string' ? socket.write(part, 'latin1') : socket.write(part);
      flowing = !socket.writableNeedDrain;
      socket.uncork();
      this.held = socket.writableLength > 0;
    }
    this.clear();
    return flowing;
  }
}
