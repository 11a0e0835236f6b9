import type { Readable } from 'node:stream';

/** Longest line kept; the rest of an over-long line is dropped so memory stays flat on runaway output. */
export const MAX_LINE = 8 * 1024;

/**
 * Splits a byte stream into lines as it flows, holding at most one partial line
 * (capped at MAX_LINE characters). The last unterminated line is flushed at end.
 */
export function onLines(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  let overflow = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      const line = overflow ? partial : (partial + piece).slice(0, MAX_LINE);
      partial = '';
      overflow = false;
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (!overflow) {
      partial += chunk.slice(start);
      if (partial.length > MAX_LINE) {
        partial = partial.slice(0, MAX_LINE);
        overflow = true;
      }
    }
  });
  stream.on('end', () => {
    if (partial) onLine(partial);
    partial = '';
  });
}

/** A fixed-size ring of the most recent lines, for "why did it fail" messages. */
export class LineTail {
  readonly #lines: string[] = [];
  constructor(private readonly size: number) {}

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.size) this.#lines.shift();
  }

  lines(): string[] {
    return [...this.#lines];
  }
}
