/** One exchange as the inspector gives it back. Heads are kept as text, parsed only when asked for. */
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

/** What a data path hands the ring at the end of an exchange: bodies as the slices it saw. */
export type CapturedInput = Omit<Captured, 'id' | 'requestBody' | 'responseBody'> & {
  readonly requestBody: Buffer | readonly Buffer[] | undefined;
  readonly responseBody: Buffer | readonly Buffer[] | undefined;
};

/** The first bytes of a body, as slices of the reads that carried them, up to a cap. */
export class BodyCapture {
  readonly #cap: number;
  readonly parts: Buffer[] = [];
  size = 0;
  truncated = false;

  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Keeps the start of `chunk` (a slice, no copy) until the cap; returns whether it kept any of it. */
  add(chunk: Buffer): boolean {
    if (this.size >= this.#cap) {
      if (chunk.length > 0) this.truncated = true;
      return false;
    }
    const n = Math.min(chunk.length, this.#cap - this.size);
    // No copy here: the slices live only until the exchange ends, when the ring copies them
    // once. (A caller whose chunk sits in a reused read buffer is told, and reads the next
    // one elsewhere: fast-path/upstream-pool.ts.)
    this.parts.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    this.size += n;
    if (n < chunk.length) this.truncated = true;
    return n > 0;
  }

  /** One buffer (a copy), for a body read back outside the ring. */
  get body(): Buffer | undefined {
    return this.size === 0 ? undefined : Buffer.concat(this.parts, this.size);
  }
}

const OWN = 1;
const REQUEST_TRUNCATED = 2;
const RESPONSE_TRUNCATED = 4;
const HAS_RESPONSE = 8;
/** Segments of an entry in the arena, in order. */
const METHOD = 0;
const TARGET = 1;
const REQUEST_HEAD = 2;
const RESPONSE_HEAD = 3;
const REQUEST_BODY = 4;
const RESPONSE_BODY = 5;
const SEGMENTS = 6;
/** Room in the index for one entry per this many bytes of arena (entries average more). */
const BYTES_PER_SLOT = 256;

/**
 * The request inspector's memory: the most recent exchanges, bounded in bytes, the
 * oldest overwritten first. Everything is copied into one arena
 * allocated up front and indexed by typed arrays, so recording allocates nothing that
 * lives past the request: thousands of kept requests a second would otherwise all
 * survive the young generation and make every full garbage collection pay for them
 * (measured: +40 µs per request and twice the memory, with objects kept per request).
 * Entries are decoded back into objects only when the API reads them.
 */
export class RequestRing {
  /** The cap on all entries together, bytes. */
  readonly capBytes: number;
  /** The cap on each captured body, bytes; longer bodies are kept cut and marked truncated. */
  readonly bodyCapBytes: number;
  readonly #arena: Buffer;
  readonly #slots: number;
  /** Per slot: where its bytes start in the arena's address space (bytes written ever), and its segments' lengths. */
  readonly #at: Float64Array;
  readonly #lengths: Uint32Array;
  readonly #numbers: Float64Array;
  readonly #gen: Int32Array;
  readonly #status: Int32Array;
  readonly #flags: Uint8Array;
  readonly #replayOf: Int32Array;
  /** Bytes written into the arena ever (an address that only grows; position = written % capBytes). */
  #written = 0;
  /** Entries added ever; the newest has id = #count. */
  #count = 0;

  constructor(capBytes: number, bodyCapBytes: number) {
    this.capBytes = capBytes;
    this.bodyCapBytes = Math.min(bodyCapBytes, Math.floor(capBytes / 4));
    this.#arena = Buffer.allocUnsafeSlow(capBytes);
    this.#slots = capBytes === 0 ? 0 : Math.max(64, Math.floor(capBytes / BYTES_PER_SLOT));
    this.#at = new Float64Array(this.#slots);
    this.#lengths = new Uint32Array(this.#slots * SEGMENTS);
    // startedAt, ttfbMs, totalMs, bytesIn, bytesOut
    this.#numbers = new Float64Array(this.#slots * 5);
    this.#gen = new Int32Array(this.#slots);
    this.#status = new Int32Array(this.#slots);
    this.#flags = new Uint8Array(this.#slots);
    this.#replayOf = new Int32Array(this.#slots);
  }

  get enabled(): boolean {
    return this.capBytes > 0;
  }

  /** Bytes the kept entries take. */
  get bytes(): number {
    const oldest = this.#oldest();
    return oldest > this.#count ? 0 : Math.min(this.capBytes, this.#written - this.#at[(oldest - 1) % this.#slots]!);
  }

  /** Entries kept now. */
  get size(): number {
    return this.#count - this.#oldest() + 1;
  }

  /** Keeps one exchange; returns its id (0 when recording is off). */
  add(entry: CapturedInput): number {
    if (!this.enabled) return 0;
    const id = ++this.#count;
    const slot = (id - 1) % this.#slots;
    const lengths = this.#lengths;
    const base = slot * SEGMENTS;
    lengths[base + METHOD] = Math.min(entry.method.length, 64);
    lengths[base + TARGET] = Math.min(entry.target.length, this.capBytes >> 3);
    lengths[base + REQUEST_HEAD] = Math.min(entry.requestHead.length, this.capBytes >> 2);
    lengths[base + RESPONSE_HEAD] = Math.min(entry.responseHead?.length ?? 0, this.capBytes >> 2);
    lengths[base + REQUEST_BODY] = Math.min(byteLength(entry.requestBody), this.bodyCapBytes);
    lengths[base + RESPONSE_BODY] = Math.min(byteLength(entry.responseBody), this.bodyCapBytes);
    let size = 0;
    for (let i = 0; i < SEGMENTS; i++) size += lengths[base + i]!;
    // An entry never wraps around the arena's end: it starts the next lap instead.
    let at = this.#written;
    if ((at % this.capBytes) + size > this.capBytes) at += this.capBytes - (at % this.capBytes);
    let pos = at % this.capBytes;
    const arena = this.#arena;
    pos += arena.write(entry.method, pos, lengths[base + METHOD]!, 'latin1');
    pos += arena.write(entry.target, pos, lengths[base + TARGET]!, 'latin1');
    pos += arena.write(entry.requestHead, pos, lengths[base + REQUEST_HEAD]!, 'latin1');
    if (entry.responseHead) pos += arena.write(entry.responseHead, pos, lengths[base + RESPONSE_HEAD]!, 'latin1');
    pos = copyParts(entry.requestBody, arena, pos, lengths[base + REQUEST_BODY]!);
    copyParts(entry.responseBody, arena, pos, lengths[base + RESPONSE_BODY]!);
    this.#written = at + size;
    this.#at[slot] = at;
    const n = slot * 5;
    this.#numbers[n] = entry.startedAt;
    this.#numbers[n + 1] = entry.ttfbMs;
    this.#numbers[n + 2] = entry.totalMs;
    this.#numbers[n + 3] = entry.bytesIn;
    this.#numbers[n + 4] = entry.bytesOut;
    this.#gen[slot] = entry.gen ?? -1;
    this.#status[slot] = entry.status;
    this.#replayOf[slot] = entry.replayOf ?? 0;
    this.#flags[slot] =
      (entry.own ? OWN : 0) |
      (entry.requestBodyTruncated || byteLength(entry.requestBody) > this.bodyCapBytes ? REQUEST_TRUNCATED : 0) |
      (entry.responseBodyTruncated || byteLength(entry.responseBody) > this.bodyCapBytes ? RESPONSE_TRUNCATED : 0) |
      (entry.responseHead === undefined ? 0 : HAS_RESPONSE);
    return id;
  }

  get(id: number): Captured | undefined {
    if (!Number.isInteger(id) || id < this.#oldest() || id > this.#count) return undefined;
    return this.#decode(id);
  }

  /** Newest first, those `keep` accepts, at most `limit`. */
  list(keep: (entry: Captured) => boolean = () => true, limit = Number.POSITIVE_INFINITY): Captured[] {
    const out: Captured[] = [];
    const oldest = this.#oldest();
    for (let id = this.#count; id >= oldest && out.length < limit; id--) {
      const entry = this.#decode(id);
      if (keep(entry)) out.push(entry);
    }
    return out;
  }

  /** The oldest id still whole: within the index's slots, and not overwritten in the arena. */
  #oldest(): number {
    let oldest = Math.max(1, this.#count - this.#slots + 1);
    while (oldest <= this.#count && this.#at[(oldest - 1) % this.#slots]! < this.#written - this.capBytes) oldest++;
    return oldest;
  }

  #decode(id: number): Captured {
    const slot = (id - 1) % this.#slots;
    const base = slot * SEGMENTS;
    const lengths = this.#lengths;
    let pos = this.#at[slot]! % this.capBytes;
    const take = (segment: number): Buffer => {
      const part = this.#arena.subarray(pos, pos + lengths[base + segment]!);
      pos += lengths[base + segment]!;
      return part;
    };
    const method = take(METHOD).toString('latin1');
    const target = take(TARGET).toString('latin1');
    const requestHead = take(REQUEST_HEAD).toString('latin1');
    const responseHead = take(RESPONSE_HEAD).toString('latin1');
    const requestBody = Buffer.from(take(REQUEST_BODY));
    const responseBody = Buffer.from(take(RESPONSE_BODY));
    const flags = this.#flags[slot]!;
    const n = slot * 5;
    const gen = this.#gen[slot]!;
    const replayOf = this.#replayOf[slot]!;
    return {
      id,
      gen: gen === -1 ? undefined : gen,
      method,
      target,
      startedAt: this.#numbers[n]!,
      status: this.#status[slot]!,
      own: (flags & OWN) !== 0,
      ttfbMs: this.#numbers[n + 1]!,
      totalMs: this.#numbers[n + 2]!,
      bytesIn: this.#numbers[n + 3]!,
      bytesOut: this.#numbers[n + 4]!,
      requestHead,
      responseHead: flags & HAS_RESPONSE ? responseHead : undefined,
      requestBody: requestBody.length > 0 ? requestBody : undefined,
      requestBodyTruncated: (flags & REQUEST_TRUNCATED) !== 0,
      responseBody: responseBody.length > 0 ? responseBody : undefined,
      responseBodyTruncated: (flags & RESPONSE_TRUNCATED) !== 0,
      ...(replayOf ? { replayOf } : {}),
    };
  }
}

function byteLength(body: Buffer | readonly Buffer[] | undefined): number {
  if (body === undefined) return 0;
  if (Buffer.isBuffer(body)) return body.length;
  let n = 0;
  for (const part of body) n += part.length;
  return n;
}

/** Copies up to `max` bytes of `body` into `arena` at `pos`; returns the position after them. */
function copyParts(body: Buffer | readonly Buffer[] | undefined, arena: Buffer, pos: number, max: number): number {
  if (body === undefined || max === 0) return pos;
  const parts = Buffer.isBuffer(body) ? [body] : body;
  let left = max;
  for (const part of parts) {
    if (left === 0) break;
    const n = Math.min(left, part.length);
    part.copy(arena, pos, 0, n);
    pos += n;
    left -= n;
  }
  return pos;
}
