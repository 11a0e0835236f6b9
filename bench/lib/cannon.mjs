// autocannon, run programmatically, with each response's latency kept at full precision:
// autocannon's own histogram has 1 ms resolution, too coarse for sub-millisecond targets.
import autocannon from 'autocannon';

/**
 * Runs one bounded autocannon load against a 127.0.0.1 URL.
 * @param {object} o
 * @param {string} o.url
 * @param {number} o.connections
 * @param {number} o.seconds
 * @param {number} [o.rate] fixed overall request rate (req/s); omitted = as fast as possible
 * @param {import('./timeline.mjs').Timeline} [o.timeline] 100 ms buckets of answers/failures
 * @returns {Promise<{requests, rps, errors, non2xx, p50, p99, max, latencies: number[]}>}
 */
export async function cannon({ url, connections, seconds, rate, timeline, method = 'GET', body }) {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`load targets 127.0.0.1 only, not ${url}`);
  const latencies = [];
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
    method,
    ...(body ? { body, headers: { 'content-type': 'application/octet-stream' } } : {}),
    timeout: 10,
    pipelining: 1,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    latencies.push(ms);
    timeline?.add(status >= 200 && status < 400);
  });
  instance.on('reqError', () => timeline?.add(false));
  const result = await instance;
  const sorted = Float64Array.from(latencies).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return {
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || seconds),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1],
    latencies,
  };
}
