/** Why a new generation is being started. */
export type ReloadReason = 'start' | 'change' | 'manual' | 'crash';

/**
 * Everything baton reports, one object per event. The reporter turns these into
 * terminal lines or JSON; the `type` strings are stable.
 */
export type BatonEvent =
  | { type: 'listening'; url: string; port: number; command: readonly string[]; watch: readonly string[] }
  | { type: 'change'; files: string[] }
  | { type: 'reload'; source: 'signal' | 'key' | 'api' }
  | { type: 'starting'; gen: number; port: number; pid: number | undefined; reason: ReloadReason }
  | { type: 'output'; gen: number; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'port-clash'; gen: number; port: number }
  | { type: 'serving'; gen: number; ms: number }
  | { type: 'rejected'; gen: number; reason: string; output: string[]; serving: number | undefined }
  | { type: 'abandoned'; gen: number }
  | { type: 'draining'; gen: number; inflight: number }
  | {
      type: 'stopped';
      gen: number;
      ms: number;
      /** SIGTERM was not enough: the process group was SIGKILLed after --stop-timeout. */
      forced: boolean;
      /** --drain-timeout passed with work in flight; `cut` says what was ended. */
      drainTimedOut: boolean;
      cut: { streams: number; requests: number; websockets: number };
    }
  | { type: 'crashed'; gen: number; reason: string; output: string[]; restartInMs: number | undefined }
  | { type: 'shutdown'; signal: string | undefined }
  | { type: 'closed' }
  | { type: 'warning'; message: string };

export type BatonEventType = BatonEvent['type'];
