import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch, diffLines } from 'diff';

/** Files larger than this are hashed but not diffed. */
const MAX_FILE_BYTES = 256 * 1024;
/** At most this many files are read per generation (a watched folder may hold many). */
const MAX_FILES = 200;
/** A generation's diff is cut at this many characters (and marked so). */
const MAX_DIFF_CHARS = 64 * 1024;

/** What changed in one file since the generation before. */
export interface FileChange {
  file: string;
  added: number;
  removed: number;
  /** It appeared, or went away, since the generation before. */
  status: 'changed' | 'added' | 'removed';
}

/** For a KrakenD JSON config: endpoints (`METHOD /path`) added, removed or changed. */
export interface EndpointChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

/** The files a generation started from, and what differs from the generation before. */
export interface GenerationFiles {
  gen: number;
  /** sha1 of each file's bytes. */
  hashes: Record<string, string>;
  changes: FileChange[];
  /** A unified diff against the generation before, at most MAX_DIFF_CHARS. */
  diff: string;
  diffTruncated: boolean;
  endpoints?: EndpointChanges;
}

interface Seen {
  hash: string;
  text: string | undefined;
}

/**
 * Each generation's view of the watched files: their hashes, and a unified diff against
 * the generation started before it (jsdiff), bounded in size. For a KrakenD config it
 * also names the endpoints added, removed or changed.
 */
export class ConfigHistory {
  #last = new Map<string, Seen>();
  readonly #byGen = new Map<number, GenerationFiles>();
  readonly #cwd: string;

  constructor(cwd: string) {
    this.#cwd = cwd;
  }

  /** Reads `files` as generation `gen` starts from them. */
  record(gen: number, files: readonly string[]): GenerationFiles {
    const now = new Map<string, Seen>();
    for (const file of files.slice(0, MAX_FILES)) {
      const seen = read(file);
      if (seen) now.set(file, seen);
    }
    const changes: FileChange[] = [];
    let diff = '';
    let endpoints: EndpointChanges | undefined;
    const first = this.#last.size === 0 && this.#byGen.size === 0;
    for (const file of new Set([...this.#last.keys(), ...now.keys()])) {
      const before = this.#last.get(file);
      const after = now.get(file);
      if (first || before?.hash === after?.hash) continue;
      const shown = path.relative(this.#cwd, file) || file;
      const a = before?.text ?? '';
      const b = after?.text ?? '';
      let added = 0;
      let removed = 0;
      for (const part of diffLines(a, b)) {
        if (part.added) added += part.count ?? 0;
        else if (part.removed) removed += part.count ?? 0;
      }
      changes.push({ file: shown, added, removed, status: before === undefined ? 'added' : after === undefined ? 'removed' : 'changed' });
      if (diff.length < MAX_DIFF_CHARS) diff += createTwoFilesPatch(`a/${shown}`, `b/${shown}`, a, b, undefined, undefined, { context: 3 });
      endpoints ??= krakendEndpoints(a, b);
    }
    const diffTruncated = diff.length > MAX_DIFF_CHARS;
    const entry: GenerationFiles = {
      gen,
      hashes: Object.fromEntries([...now].map(([file, seen]) => [path.relative(this.#cwd, file) || file, seen.hash])),
      changes,
      diff: diffTruncated ? diff.slice(0, MAX_DIFF_CHARS) : diff,
      diffTruncated,
      ...(endpoints ? { endpoints } : {}),
    };
    this.#last = now;
    this.#byGen.set(gen, entry);
    for (const old of this.#byGen.keys()) if (this.#byGen.size > 100) this.#byGen.delete(old);
    return entry;
  }

  get(gen: number): GenerationFiles | undefined {
    return this.#byGen.get(gen);
  }
}

function read(file: string): Seen | undefined {
  try {
    if (!statSync(file).isFile()) return undefined;
    const bytes = readFileSync(file);
    const hash = createHash('sha1').update(bytes).digest('hex');
    const text = bytes.length <= MAX_FILE_BYTES && !bytes.subarray(0, 8000).includes(0) ? bytes.toString('utf8') : undefined;
    return { hash, text };
  } catch {
    return undefined;
  }
}

/** Endpoints of a KrakenD config (`endpoints[].endpoint` and `.method`), each with its JSON; undefined when it is not one. */
function endpointsOf(text: string): Map<string, string> | undefined {
  try {
    const config = JSON.parse(text) as { endpoints?: Array<{ endpoint?: unknown; method?: unknown }> };
    if (!Array.isArray(config.endpoints)) return undefined;
    const out = new Map<string, string>();
    for (const e of config.endpoints) if (typeof e.endpoint === 'string') out.set(`${typeof e.method === 'string' ? e.method.toUpperCase() : 'GET'} ${e.endpoint}`, JSON.stringify(e));
    return out;
  } catch {
    return undefined;
  }
}

function krakendEndpoints(before: string, after: string): EndpointChanges | undefined {
  const a = endpointsOf(before);
  const b = endpointsOf(after);
  if (!a && !b) return undefined;
  const was = a ?? new Map<string, string>();
  const is = b ?? new Map<string, string>();
  return {
    added: [...is.keys()].filter((k) => !was.has(k)),
    removed: [...was.keys()].filter((k) => !is.has(k)),
    changed: [...is.keys()].filter((k) => was.has(k) && was.get(k) !== is.get(k)),
  };
}
