import http from 'node:http';
import pRetry from 'p-retry';

export interface HealthProbe {
  port: number;
  /** HTTP path; ready means any status below 500. */
  path: string;
  /** Aborts the wait (instance exited, superseded, timed out). */
  signal: AbortSignal;
  /** Called with each failed probe's reason, so a timeout can say what was last seen. */
  onFailure?: (reason: string) => void;
}

/**
 * Polls until the instance answers below 500. The first retry comes ~10 ms after the
 * first probe and the gap grows by a fifth each time, capped at 25 ms: a gateway is
 * promoted within 25 ms of being ready (bench/ measured up to 110 ms lost to a 250 ms
 * cap). With early start a slow gateway's readiness, not the debounce, decides when a
 * save is served, so this lag is paid in full; a refused loopback connect every 25 ms
 * costs nothing worth saving.
 */
export async function waitHealthy(probe: HealthProbe): Promise<void> {
  await pRetry(() => probeOnce(probe.port, probe.path, probe.signal), {
    retries: Number.POSITIVE_INFINITY,
    minTimeout: 10,
    factor: 1.2,
    maxTimeout: 25,
    randomize: false,
    signal: probe.signal,
    // A probe cut short by the abort says nothing about the gateway: keep the last real answer.
    onFailedAttempt: ({ error }) => {
      if (!probe.signal.aborted) probe.onFailure?.(error.message);
    },
  });
}

/** One GET on a fresh connection; resolves on status < 500, rejects with a readable reason. */
export function probeOnce(port: number, path: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, signal, timeout: 2000 }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status < 500) resolve();
      else reject(new Error(`GET ${path} answered ${status}`));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} got no answer within 2 s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(err.code === 'ECONNREFUSED' ? `nothing listening on port ${port}` : `GET ${path} failed: ${err.code ?? err.message}`));
    });
  });
}
