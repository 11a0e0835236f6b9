/** One exchange as the inspector keeps it. Heads are kept as text, parsed only when asked for. */
export interface Captured {
  readonly id: number;
  /** The generation that answered; undefined for baton's own answer with nothing serving, or a refusal at the edge. */
  readonly gen: number | undefined;
  readonly method: string;
  readonly target: string;
  /** When its head arrived (ms since the epoch). */
  readonly startedAt: number;
  readonly status: number;
  readonly own: boolean;
  readonly ttfbMs: number;
  readonly totalMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** The request head as received: request line and field lines, CRLF-separated. */
  readonly requestHead: string;
  /** The response head the client got (status line and fields), if any. */
  readonly responseHead: string | undefined;
  readonly requestBody: Buffer | undefined;
  readonly requestBodyTruncated: boolean;
  readonly responseBody: Buffer | undefined;
  readonly responseBodyTruncated: boolean;
  /** Sent again from the inspector: the id of the exchange it repeats. */
  readonly replayOf?: number;
}

/** A body being captured, up to a cap. */
export class BodyCapture {
  readonly #cap: number;
  readonly #parts: Buffer[] = [];
  #size = 0;
  truncated = false;

  constructor(cap: number) {
    this.#cap = cap;
  }

  add(chunk: Buffer): void {
    if (this.#size >= this.#cap) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const n = Math.min(chunk.length, this.#cap - this.#size);
    // A copy: the chunk's memory is the socket's, reused or much larger than the slice.
    this.#parts.push(Buffer.from(chunk.subarray(0, n)));
    this.#size += n;
    if (n < chunk.length) this.truncated = true;
  }

  get body(): Buffer | undefined {
    return this.#size === 0 ? undefined : this.#parts.length === 1 ? this.#parts[0] : Buffer.concat(this.#parts);
  }
}

/** What an entry costs in the ring, roughly: its heads, its bodies and a fixed overhead. */
function costOf(entry: Captured): number {
  return 200 + entry.target.length + entry.requestHead.length + (entry.responseHead?.length ?? 0) + (entry.requestBody?.length ?? 0) + (entry.responseBody?.length ?? 0);
}

/**
 * The request inspector's memory: the most recent exchanges, bounded in bytes (not in
 * count, as ngrok's inspector is), the oldest dropped first. Newest first when read.
 */
export class RequestRing {
  /** The cap on all entries together, bytes. */
  readonly capBytes: number;
  /** The cap on each captured body, bytes; longer bodies are kept cut and marked truncated. */
  readonly bodyCapBytes: number;
  #entries: Captured[] = [];
  /** Index of the oldest entry still kept (entries before it are dropped, compacted now and then). */
  #head = 0;
  #bytes = 0;
  #nextId = 1;

  constructor(capBytes: number, bodyCapBytes: number) {
    this.capBytes = capBytes;
    this.bodyCapBytes = bodyCapBytes;
  }

  get enabled(): boolean {
    return this.capBytes > 0;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Keeps one exchange; returns it with its id. */
  add(entry: Omit<Captured, 'id'>): Captured {
    const captured = { ...entry, id: this.#nextId++ } as Captured;
    if (!this.enabled) return captured;
    this.#entries.push(captured);
    this.#bytes += costOf(captured);
    while (this.#bytes > this.capBytes && this.#head < this.#entries.length - 1) this.#bytes -= costOf(this.#entries[this.#head++]!);
    if (this.#head > 1024 && this.#head > this.#entries.length / 2) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return captured;
  }

  get(id: number): Captured | undefined {
    for (let i = this.#entries.length - 1; i >= this.#head; i--) if (this.#entries[i]!.id === id) return this.#entries[i];
    return undefined;
  }

  /** Newest first, those `keep` accepts, at most `limit`. */
  list(keep: (entry: Captured) => boolean = () => true, limit = Number.POSITIVE_INFINITY): Captured[] {
    const out: Captured[] = [];
    for (let i = this.#entries.length - 1; i >= this.#head && out.length < limit; i--) {
      const entry = this.#entries[i]!;
      if (keep(entry)) out.push(entry);
    }
    return out;
  }
}
