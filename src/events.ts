import type { EndpointChanges, FileChange } from './observe/config-history.js';
import type { StatusClasses } from './observe/generation-stats.js';
import type { Verdict } from './lifecycle/experiments/analysis.js';
import type { Difference } from './lifecycle/experiments/compare.js';

/** A generation's traffic, as the `stopped` event reports it. */
export interface ServedTotals {
  requests: number;
  statuses: StatusClasses;
  /** baton's own answers on it (502 failed before answering, 504 drain timeout), by status. */
  own: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
  bytesIn: number;
  bytesOut: number;
}

/** Why a new generation is being started. */
export type ReloadReason = 'start' | 'change' | 'manual' | 'crash';

/**
 * Everything baton reports, one object per event. The reporter turns these into
 * terminal lines or JSON; the `type` strings are stable.
 */
export type BatonEvent =
  | {
      type: 'listening';
      url: string;
      port: number;
      command: readonly string[];
      watch: readonly string[];
      /** The control plane's URL (API and dashboard), when one runs. */
      admin?: string;
      /** The side ports held besides the main one, when there are any. */
      sidePorts?: Array<{ name: string; port: number; url: string }>;
      /** The public port serves HTTPS (and HTTP/2): with which certificate, and where it came from. */
      tls?: { certificate: string; from: 'flags' | 'preset' | 'self-signed' };
      /** The preview port's URL (`--preview`), when there is one. */
      preview?: string;
    }
  | { type: 'preset'; name: string; applied: string[] }
  | {
      type: 'change';
      files: string[];
      /**
       * Seen early, before `--debounce` of quiet: the new instance boots during the
       * debounce and is promoted only if the files stay as read (else it is abandoned).
       */
      early: boolean;
    }
  | { type: 'reload'; source: 'signal' | 'key' | 'api' | 'config' }
  | {
      type: 'settings';
      /** The config file an edit of which changed these settings while baton runs. */
      file: string;
      /** The keys applied: the timeouts and `debounce` at once, the command, `health` and `check` from the next generation. */
      applied: string[];
    }
  | {
      type: 'starting';
      gen: number;
      port: number;
      pid: number | undefined;
      reason: ReloadReason;
      /** Watched files that differ from what the generation before started from (none for the first). */
      changes?: FileChange[];
      /** For a KrakenD JSON config: the endpoints added, removed or changed. */
      endpoints?: EndpointChanges;
    }
  | { type: 'output'; gen: number; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'port-clash'; gen: number; port: number }
  | {
      type: 'serving';
      gen: number;
      ms: number;
      /** It listens in TLS on its private port, and baton talks TLS to it. */
      tls?: boolean;
    }
  | { type: 'rejected'; gen: number; reason: string; output: string[]; serving: number | undefined }
  | { type: 'abandoned'; gen: number }
  /** `keptMs`: it stays alive this long from its replacement's promotion, for a rollback (--keep-previous), when it does. */
  | { type: 'draining'; gen: number; inflight: number; keptMs?: number }
  | {
      type: 'stopped';
      gen: number;
      ms: number;
      /** SIGTERM was not enough: the process group was SIGKILLed after --stop-timeout. */
      forced: boolean;
      /** --drain-timeout passed with work in flight; `cut` says what was ended. */
      drainTimedOut: boolean;
      cut: { streams: number; requests: number; websockets: number };
      /** What it served, from its promotion to its end. */
      served: ServedTotals;
    }
  | {
      type: 'preview';
      gen: number;
      /** The preview port's URL (`--preview`), when there is one. */
      url?: string;
      /** The request field that reaches it on any port: `baton-generation: <n>`. */
      header: string;
    }
  | {
      type: 'verified';
      gen: number;
      /** `replay`: recent requests from the inspector (`--verify`); `mirror`: copies of live ones (`--mirror`). */
      source: 'replay' | 'mirror';
      compared: number;
      differing: Difference[];
      failed: Array<{ method: string; target: string; error: string }>;
      /** With `--verify gate`: whether it let the candidate on. */
      passed?: boolean;
    }
  | { type: 'canary'; gen: number; step: number; steps: number; weight: number }
  | ({
      type: 'analysis';
      gen: number;
      /** `canary`: a step before promotion; `guard`: after it, during `--keep-previous`. */
      phase: 'canary' | 'guard';
      step?: number;
    } & Verdict)
  | {
      type: 'rolled-back';
      /** The generation that takes no new requests any more. */
      gen: number;
      reason: string;
      /** The generation that takes them again. */
      serving: number;
    }
  | { type: 'crashed'; gen: number; reason: string; output: string[]; restartInMs: number | undefined }
  | { type: 'shutdown'; signal: string | undefined }
  | {
      type: 'killed';
      /** The gateway instances stopped at once with SIGKILL (each with its process group), by a second signal or `destroy()`. */
      processes: Array<{ gen: number; pid: number | undefined }>;
    }
  | { type: 'closed' }
  | {
      type: 'warning';
      message: string;
      /** The generation it is about, when it is about one. */
      gen?: number;
    };

export type BatonEventType = BatonEvent['type'];

type FieldsOf<T extends BatonEventType> = Exclude<keyof Extract<BatonEvent, { type: T }>, 'type'>;

/**
 * Every event type with its fields (besides `type` and, in JSON, `time`), for docs and
 * tools. The compiler checks both ways: each listed field exists, and none is missing.
 */
export const EVENT_FIELDS = {
  listening: ['url', 'port', 'command', 'watch', 'admin', 'sidePorts', 'tls', 'preview'],
  preset: ['name', 'applied'],
  change: ['files', 'early'],
  reload: ['source'],
  settings: ['file', 'applied'],
  starting: ['gen', 'port', 'pid', 'reason', 'changes', 'endpoints'],
  output: ['gen', 'stream', 'line'],
  'port-clash': ['gen', 'port'],
  serving: ['gen', 'ms', 'tls'],
  rejected: ['gen', 'reason', 'output', 'serving'],
  abandoned: ['gen'],
  draining: ['gen', 'inflight', 'keptMs'],
  stopped: ['gen', 'ms', 'forced', 'drainTimedOut', 'cut', 'served'],
  preview: ['gen', 'url', 'header'],
  verified: ['gen', 'source', 'compared', 'differing', 'failed', 'passed'],
  canary: ['gen', 'step', 'steps', 'weight'],
  analysis: ['gen', 'phase', 'step', 'passed', 'inconclusive', 'reason', 'candidate', 'baseline', 'limits'],
  'rolled-back': ['gen', 'reason', 'serving'],
  crashed: ['gen', 'reason', 'output', 'restartInMs'],
  shutdown: ['signal'],
  killed: ['processes'],
  closed: [],
  warning: ['message', 'gen'],
} as const satisfies { [T in BatonEventType]: readonly FieldsOf<T>[] };

/** Every event type, in the order of EVENT_FIELDS. */
export const EVENT_TYPES = Object.keys(EVENT_FIELDS) as Array<keyof typeof EVENT_FIELDS>;

type MissingType = Exclude<BatonEventType, keyof typeof EVENT_FIELDS>;
type MissingField = { [T in BatonEventType]: Exclude<FieldsOf<T>, (typeof EVENT_FIELDS)[T][number]> }[BatonEventType];
/** Fails to compile when an event type, or a field of one, is added to the union but not to EVENT_FIELDS. */
export const EVENT_FIELDS_COMPLETE: [MissingType | MissingField] extends [never] ? true : MissingType | MissingField = true;
