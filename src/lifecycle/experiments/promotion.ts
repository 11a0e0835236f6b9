import type { BatonEvent } from '../../events.js';
import type { Observer } from '../../observe/exchange-trace.js';
import type { RequestRing } from '../../observe/request-ring.js';
import type { ResolvedExperiments } from '../../options.js';
import type { Generation } from '../../proxy/generation.js';
import type { Router } from '../../proxy/router.js';
import type { CopyTarget } from '../../proxy/send-copy.js';
import { PIN_FIELD } from '../../proxy/edge/request-rules.js';
import { interruptibleWait, type Wakeup } from '../interruptible-wait.js';
import { judge, mark, numbers, type StatsMark } from './analysis.js';
import { describeDifference, tripsGate } from './compare.js';
import { Mirror } from './mirror.js';
import { compareGenerations, pickReplays, type ComparisonReport } from './verify.js';

/** What the phases before promotion need from the orchestrator. */
export interface PromotionHost {
  readonly experiments: ResolvedExperiments;
  readonly router: Router;
  readonly observer: Observer;
  readonly ring: RequestRing;
  /** `host:port` of the public port, the Host of kept requests that had none. */
  readonly publicAuthority: string;
  /** The preview port's URL, when there is one. */
  readonly previewUrl: string | undefined;
  emit(event: BatonEvent): void;
}

/** How the phases ended: promote it, reject it (a gate), roll it back (a failed canary step), or stop because it was superseded, aborted or died. */
export type PhasesOutcome = { kind: 'promote' } | { kind: 'reject'; reason: string } | { kind: 'rolled-back'; reason: string } | { kind: 'aborted' };

/** A canary step while it runs: its set share, and where both generations' counts stood at its start. */
export interface CanaryStep {
  candidate: Generation;
  serving: Generation;
  step: number;
  steps: number;
  /** The set share, percent. */
  weight: number;
  from: { candidate: StatsMark; serving: StatsMark };
}

/** Where the experiments stand, as `/api/status` gives it under `experiments`. */
export interface ExperimentsView {
  /** The candidate waiting for a manual promotion. */
  waiting: number | null;
  /** The canary step running: its set share and the share the candidate really got so far (percent; null before any request). */
  canary: { gen: number; step: number; steps: number; weight: number; actualWeight: number | null } | null;
  /** The generation kept warm for a rollback, and the ms left. */
  previous: { gen: number; untilMs: number } | null;
  /** The --preview port's URL. */
  preview: string | null;
}

/** The share of requests the candidate really got in a step so far, percent (one decimal), or null before any. */
export function actualWeight(s: CanaryStep): number | null {
  const candidate = s.candidate.stats.requests - s.from.candidate.requests;
  const total = candidate + s.serving.stats.requests - s.from.serving.requests;
  return total === 0 ? null : Math.round((candidate / total) * 1000) / 10;
}

/** A manual promotion decision, waited for; and a canary step that a promotion cuts short. */
export class ManualGate {
  #decide: ((decision: 'promote' | 'abort') => void) | undefined;
  #skip: (() => void) | undefined;
  #step: CanaryStep | undefined;

  /** The canary step running now, if any. */
  get canaryStep(): CanaryStep | undefined {
    return this.#step;
  }

  /** True while a candidate waits. */
  get waiting(): boolean {
    return this.#decide !== undefined;
  }

  /** Waits out a canary step: true when a promotion (p, POST /api/promote) cut it short, false when it ran its course or `signal` aborted. */
  async step(step: CanaryStep, ms: number, signal: AbortSignal): Promise<boolean> {
    this.#step = step;
    try {
      const onPromotion: Wakeup = (wake) => {
        this.#skip = wake;
        return () => (this.#skip = undefined);
      };
      return (await interruptibleWait(ms, signal, onPromotion)) === 'woken';
    } finally {
      this.#step = undefined;
    }
  }

  /** Waits for p or a; `keeps` is the last canary step, whose share the candidate keeps meanwhile. */
  wait(signal: AbortSignal, keeps?: CanaryStep): Promise<'promote' | 'abort'> {
    this.#step = keeps;
    return new Promise((resolve) => {
      const onAbort = (): void => this.#settle('abort');
      this.#decide = (decision) => {
        signal.removeEventListener('abort', onAbort);
        this.#decide = undefined;
        this.#step = undefined;
        resolve(decision);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Settles the wait, or promotes a candidate in a canary step; false when none waits. */
  settle(decision: 'promote' | 'abort'): boolean {
    if (decision === 'promote' && this.#skip) {
      this.#skip();
      return true;
    }
    if (!this.#decide) return false;
    this.#settle(decision);
    return true;
  }

  #settle(decision: 'promote' | 'abort'): void {
    this.#decide?.(decision);
  }
}

/** Whether any phase runs between healthy and promoted. */
export function hasPhases(e: ResolvedExperiments): boolean {
  return e.promote === 'manual' || e.verify !== 'off' || e.mirror > 0 || e.canary.length > 0 || e.preview !== undefined;
}

const target = (gen: Generation): CopyTarget => ({ ...gen.target, tls: gen.tls });


/**
 * Everything between "the candidate is healthy" and "it takes all new requests", in
 * order: it becomes reachable (the preview port, `baton-generation`), `--verify` replays
 * and compares, `--mirror` copies live traffic and compares, each `--canary` step gives it
 * a share of new requests and is analysed against the serving generation, and with
 * `--promote manual` it waits for a decision. A gate that trips rejects it; a failed
 * canary step rolls it back; `signal` (a newer save, an abort, shutdown, its exit) stops
 * the phases where they are.
 */
export async function runPhases(host: PromotionHost, candidate: Generation, serving: Generation, gate: ManualGate, signal: AbortSignal): Promise<PhasesOutcome> {
  const e = host.experiments;
  host.router.addPreview(candidate);
  host.emit({ type: 'preview', gen: candidate.id, header: `${PIN_FIELD}: ${candidate.id}`, ...(host.previewUrl ? { url: host.previewUrl } : {}) });

  const gateOn = (report: ComparisonReport): PhasesOutcome | undefined => {
    const passed = e.verify !== 'gate' || !report.differing.some((d) => tripsGate(d, e.verifyGate));
    host.emit({ type: 'verified', gen: candidate.id, source: report.source, compared: report.compared, differing: report.differing, failed: report.failed, ...(e.verify === 'gate' ? { passed } : {}) });
    if (passed) return undefined;
    const tripping = report.differing.filter((d) => tripsGate(d, e.verifyGate));
    return { kind: 'reject', reason: `--verify gate: ${tripping.length} of ${report.compared} ${report.source === 'mirror' ? 'mirrored' : 'replayed'} requests answer differently: ${tripping.slice(0, 5).map(describeDifference).join(', ')}${tripping.length > 5 ? ', …' : ''}` };
  };

  if (e.verify !== 'off') {
    const requests = pickReplays(host.ring, e.verifyMethods, e.verifyRequests, host.publicAuthority);
    const report = await compareGenerations(requests, target(serving), target(candidate), e.verifyHeaders, signal);
    if (signal.aborted) return { kind: 'aborted' };
    const stop = gateOn(report);
    if (stop) return stop;
  }

  if (e.mirror > 0) {
    const mirror = new Mirror(host.observer, { id: serving.id, target: target(serving) }, target(candidate), { methods: e.verifyMethods, headers: e.verifyHeaders, localAuthority: host.publicAuthority });
    mirror.start();
    await interruptibleWait(e.mirror, signal);
    const report = await mirror.stop();
    if (signal.aborted) return { kind: 'aborted' };
    if (e.verify !== 'off' || report.compared > 0) {
      const stop = e.verify === 'off' ? (host.emit({ type: 'verified', gen: candidate.id, source: 'mirror', compared: report.compared, differing: report.differing, failed: report.failed }), undefined) : gateOn(report);
      if (stop) return stop;
    }
  }

  const thresholds = { success: e.canarySuccess, p99Factor: e.canaryP99Factor, p99FloorMs: e.canaryP99Floor };
  let last: CanaryStep | undefined;
  for (const [i, weight] of e.canary.entries()) {
    host.router.setCanary(candidate, weight / 100);
    host.emit({ type: 'canary', gen: candidate.id, step: i + 1, steps: e.canary.length, weight });
    const step: CanaryStep = { candidate, serving, step: i + 1, steps: e.canary.length, weight, from: { candidate: mark(candidate.stats), serving: mark(serving.stats) } };
    // A promotion now skips the rest of the canary (and a manual wait): it was asked for.
    if (await gate.step(step, e.canaryInterval, signal)) return { kind: 'promote' };
    if (signal.aborted) {
      host.router.setCanary(undefined, 0);
      return { kind: 'aborted' };
    }
    const verdict = judge(numbers(candidate.stats, step.from.candidate), numbers(serving.stats, step.from.serving), thresholds);
    host.emit({ type: 'analysis', gen: candidate.id, phase: 'canary', step: i + 1, ...verdict });
    if (!verdict.passed) {
      host.router.setCanary(undefined, 0);
      return { kind: 'rolled-back', reason: `canary step ${i + 1} (${weight} %): ${verdict.reason}` };
    }
    last = step;
  }

  if (e.promote === 'manual') {
    // Past its last step, a canary keeps that share while it waits, as a paused Argo rollout keeps its weight.
    const decision = await gate.wait(signal, last);
    if (decision === 'abort' || signal.aborted) {
      host.router.setCanary(undefined, 0);
      return { kind: 'aborted' };
    }
  }
  return { kind: 'promote' };
}
