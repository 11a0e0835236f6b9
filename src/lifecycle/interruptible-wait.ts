/** How an interruptible wait ended. */
export type WaitEnd = 'elapsed' | 'aborted' | 'woken';

/** Calls `wake` whenever something should end the wait early; returns a function that stops it. */
export type Wakeup = (wake: () => void) => () => void;

/**
 * Waits `ms`, less when `signal` aborts or `wakeup` fires. Never rejects; the timer, the
 * abort listener and the wakeup subscription are all gone once it settles. Shared by the
 * readiness probes (woken by gateway output), the mirror window and the canary steps
 * (woken by a promotion).
 */
export function interruptibleWait(ms: number, signal: AbortSignal, wakeup?: Wakeup): Promise<WaitEnd> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve('aborted');
    let unsubscribe: (() => void) | undefined;
    const end = (how: WaitEnd): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', aborted);
      unsubscribe?.();
      resolve(how);
    };
    const aborted = (): void => end('aborted');
    const timer = setTimeout(() => end('elapsed'), ms);
    signal.addEventListener('abort', aborted, { once: true });
    unsubscribe = wakeup?.(() => end('woken'));
  });
}
