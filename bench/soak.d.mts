/** Types for bench/soak.mjs, so the test suite can run a short soak. */
export interface SoakResult {
  reloads: number;
  seconds: number;
  requests: number;
  failedRequests: number;
  failureCauses: Record<string, number>;
  streamMessages: number;
  wsMessages: number;
  lostStreamMessages: number;
  repeatedStreamMessages: number;
  batonRssMiB: { start: number; end: number; peak: number };
  batonFds: { start: number; end: number };
  gatewaysAliveAtEnd: number;
  /** Standbys (lifecycle/standby.ts) waiting to become the next instance: at most 1. */
  standbysAliveAtEnd: number;
  batonErrors: string[];
}
export function soak(options?: { reloads?: number; httpClients?: number; sseClients?: number; wsClients?: number; reloadGapMs?: number }): Promise<SoakResult>;
export function procSample(pid: number): { rssMiB: number; fds: number };
