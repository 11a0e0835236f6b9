import type { BatonEvent, ReloadReason } from '../events.js';
import type { FileChange } from './config-history.js';
import type { GenerationStats, StatusClasses } from './generation-stats.js';

/** A generation's state: the event vocabulary it last moved by. */
export type GenerationState = 'starting' | 'preview' | 'canary' | 'serving' | 'draining' | 'stopped' | 'rejected' | 'abandoned' | 'crashed';

/** An experiment's findings on a generation (docs/experiments.md), as the dashboard shows them. */
export type ExperimentNote = Extract<BatonEvent, { type: 'verified' | 'analysis' | 'canary' | 'rolled-back' | 'preview' }>;

/** What the control plane shows of one generation. */
export interface GenerationView {
  gen: number;
  state: GenerationState;
  port: number;
  pid: number | undefined;
  reason: ReloadReason;
  /** When it was spawned, ms since the epoch. */
  startedAt: number;
  /** Spawn to healthy, ms, once it served. */
  healthyMs?: number;
  servingAt?: number;
  drainingAt?: number;
  endedAt?: number;
  /** Why it was rejected or crashed, with the gateway's last lines. */
  why?: string;
  output?: string[];
  /** The exact number of client requests it was given. */
  requests: number;
  statuses: StatusClasses;
  /** baton's own answers on it (502, 504), by status. */
  own: Record<string, number>;
  noAnswer: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  ttfbP50Ms: number | null;
  ttfbP90Ms: number | null;
  ttfbP99Ms: number | null;
  bytesIn: number;
  bytesOut: number;
  inflight: number;
  streams: number;
  websockets: number;
  upstreamConnections: number;
  changes: FileChange[];
  /** Its canary weight now, percent, while a step runs. */
  weight?: number;
  /** What the experiments found on it: preview, verify and mirror reports, canary steps and analyses, a rollback. */
  notes?: ExperimentNote[];
}

/** What the log keeps of a generation; its numbers are read from `live` when asked. */
type Entry = Pick<GenerationView, 'gen' | 'state' | 'port' | 'pid' | 'reason' | 'startedAt' | 'healthyMs' | 'servingAt' | 'drainingAt' | 'endedAt' | 'why' | 'output' | 'changes' | 'weight' | 'notes'> & {
  live?: LiveGeneration;
};

/** What a generation that served exposes while it lives (proxy/generation.ts). */
export interface LiveGeneration {
  readonly stats: GenerationStats;
  readonly inflight: number;
  readonly upstreamConnections: number;
}

/** Generations kept in the log; older ones are forgotten. */
const KEEP = 100;

const ms = (v: number): number | null => (Number.isNaN(v) ? null : Math.round(v * 1000) / 1000);

/** Every generation's story, built from baton's events, with its live numbers attached once it serves. */
export class GenerationLog {
  readonly #entries = new Map<number, Entry>();

  /** Follows one event. */
  apply(event: BatonEvent, at = Date.now()): void {
    switch (event.type) {
      case 'starting':
        this.#entries.set(event.gen, { gen: event.gen, state: 'starting', port: event.port, pid: event.pid, reason: event.reason, startedAt: at, changes: event.changes ?? [] });
        for (const gen of this.#entries.keys()) if (this.#entries.size > KEEP) this.#entries.delete(gen);
        return;
      case 'port-clash':
        return this.#update(event.gen, { state: 'starting', port: event.port });
      case 'serving':
        return this.#update(event.gen, { state: 'serving', healthyMs: this.#entries.get(event.gen)?.healthyMs ?? event.ms, servingAt: at, weight: undefined });
      case 'rejected':
        return this.#update(event.gen, { state: 'rejected', why: event.reason, output: event.output, endedAt: at });
      case 'abandoned':
        return this.#update(event.gen, { state: 'abandoned', endedAt: at });
      // A candidate rejected or abandoned after its experiment is drained and stopped too; its verdict stays its state.
      case 'draining':
        return this.#update(event.gen, { ...(this.#final(event.gen) ? {} : { state: 'draining' as const }), drainingAt: at });
      case 'stopped':
        return this.#update(event.gen, { ...(this.#final(event.gen) ? {} : { state: 'stopped' as const }), endedAt: at });
      case 'crashed':
        return this.#update(event.gen, { state: 'crashed', why: event.reason, output: event.output, endedAt: at });
      case 'preview':
        this.#note(event);
        return this.#update(event.gen, { state: 'preview' });
      case 'canary':
        this.#note(event);
        return this.#update(event.gen, { state: 'canary', weight: event.weight });
      case 'verified':
      case 'analysis':
        return this.#note(event);
      case 'rolled-back':
        this.#note(event);
        this.#update(event.gen, { weight: 0 });
        return this.#update(event.serving, { state: 'serving', drainingAt: undefined });
      default:
    }
  }

  /** A generation was promoted: its live numbers (requests, histograms) are read from `live` from now on. */
  attach(gen: number, live: LiveGeneration): void {
    const entry = this.#entries.get(gen);
    if (entry) entry.live = live;
  }

  /** The generation serving now, or null. */
  get serving(): number | null {
    for (const entry of [...this.#entries.values()].reverse()) if (entry.state === 'serving') return entry.gen;
    return null;
  }

  /** Every generation kept, oldest first. */
  list(): GenerationView[] {
    return [...this.#entries.values()].map(view);
  }

  get(gen: number): GenerationView | undefined {
    const entry = this.#entries.get(gen);
    return entry && view(entry);
  }

  /** Whether the generation ended with a verdict (rejected, abandoned) that later lifecycle events must not hide. */
  #final(gen: number): boolean {
    const state = this.#entries.get(gen)?.state;
    return state === 'rejected' || state === 'abandoned';
  }

  /** Keeps an experiment's finding on its generation (the last 20). */
  #note(event: ExperimentNote): void {
    const entry = this.#entries.get(event.gen);
    if (!entry) return;
    entry.notes = [...(entry.notes ?? []), event].slice(-20);
  }

  #update(gen: number, changes: Partial<Entry>): void {
    const entry = this.#entries.get(gen);
    if (entry) Object.assign(entry, changes);
  }
}

function view(entry: Entry): GenerationView {
  const { live, ...rest } = entry;
  const stats = live?.stats;
  return {
    ...rest,
    requests: stats?.requests ?? 0,
    statuses: stats ? { ...stats.statuses } : { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    own: stats ? { ...stats.own } : {},
    noAnswer: stats?.noAnswer ?? 0,
    p50Ms: stats ? ms(stats.total.percentile(50)) : null,
    p90Ms: stats ? ms(stats.total.percentile(90)) : null,
    p99Ms: stats ? ms(stats.total.percentile(99)) : null,
    ttfbP50Ms: stats ? ms(stats.ttfb.percentile(50)) : null,
    ttfbP90Ms: stats ? ms(stats.ttfb.percentile(90)) : null,
    ttfbP99Ms: stats ? ms(stats.ttfb.percentile(99)) : null,
    bytesIn: stats?.bytesIn ?? 0,
    bytesOut: stats?.bytesOut ?? 0,
    inflight: entry.state === 'serving' || entry.state === 'draining' ? (live?.inflight ?? 0) : 0,
    streams: stats?.streams ?? 0,
    websockets: stats?.websockets ?? 0,
    upstreamConnections: entry.state === 'serving' || entry.state === 'draining' ? (live?.upstreamConnections ?? 0) : 0,
  };
}
