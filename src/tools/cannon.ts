import type { EventEmitter } from 'node:events';
import type { Timeline } from './timeline.js';

/** What one bounded autocannon run measured. */
export interface CannonResult {
  requests: number;
  rps: number;
  /** Network errors and timeouts. */
  errors: number;
  /** Answers outside 2xx. */
  non2xx: number;
  p50: number;
  p99: number;
  max: number;
  /** Every answer's latency, ms, in order. */
  latencies: number[];
}

/**
 * One bounded autocannon load against a 127.0.0.1 URL, with each response's latency kept
 * at full precision (autocannon's own histogram has 1 ms resolution). autocannon is
 * imported here, on first use: it costs about 170 ms and 27 MB to load, which `baton`
 * itself never pays.
 */
export async function cannon(o: { url: string; connections: number; seconds: number; rate?: number; timeline?: Timeline; method?: string; body?: Buffer }): Promise<CannonResult> {
  if (new URL(o.url).hostname !== '127.0.0.1') throw new Error(`load targets 127.0.0.1 only, not ${o.url}`);
  const { default: autocannon } = await import('autocannon');
  const latencies: number[] = [];
  // Awaited, the instance is the run's result; as an emitter it reports each answer.
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    ...(o.rate ? { overallRate: o.rate } : {}),
    method: (o.method ?? 'GET') as 'GET',
    ...(o.body ? { body: o.body, headers: { 'content-type': 'application/octet-stream' } } : {}),
    timeout: 10,
    pipelining: 1,
  }) as unknown as EventEmitter & Promise<{ requests: { total: number }; duration: number; errors: number; timeouts: number; non2xx: number }>;
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    o.timeline?.add(status >= 200 && status < 400);
  });
  instance.on('reqError', () => o.timeline?.add(false));
  const result = await instance;
  const sorted = Float64Array.from(latencies).sort();
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
  return {
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || o.seconds),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    latencies,
  };
}
