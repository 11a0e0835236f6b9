import { guard, release } from './lifeline.js';

/**
 * The process groups of every gateway instance baton started and has not seen end.
 * Whatever way baton exits — clean shutdown, a fatal error, an uncaught exception —
 * the `exit` hook kills what is left; and when baton dies without running any code
 * (SIGKILL, the OOM killer), the lifeline's watchdog does (lifeline.ts). No gateway
 * outlives baton.
 */
const live = new Set<number>();
let hooked = false;

/** Tracks a group (idempotent: a standby's group is tracked again when it becomes an instance). */
export function trackGroup(pgid: number): void {
  if (live.has(pgid)) return;
  live.add(pgid);
  guard(pgid);
  if (!hooked) {
    hooked = true;
    process.on('exit', killAllGroups);
  }
}

export function untrackGroup(pgid: number): void {
  if (live.delete(pgid)) release(pgid);
}

/** Sends `signal` to a whole process group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Synchronous on purpose: it runs inside `process.on('exit')`. */
export function killAllGroups(): void {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  live.clear();
}
