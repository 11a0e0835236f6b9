import { describe, expect, it } from 'vitest';
import { soak } from '../bench/soak.mjs';

describe('soak (short)', () => {
  it('20 reloads under mixed GET/POST/SSE/WebSocket load: nothing failed, lost or repeated, nothing left over', async () => {
    const result = await soak({ reloads: 20 });
    expect(result.failedRequests, JSON.stringify(result.failureCauses)).toBe(0);
    expect(result.lostStreamMessages).toBe(0);
    expect(result.repeatedStreamMessages).toBe(0);
    expect(result.streamMessages).toBeGreaterThan(0);
    expect(result.wsMessages).toBeGreaterThan(0);
    expect(result.batonErrors).toEqual([]);
    expect(result.gatewaysAliveAtEnd).toBe(1);
    expect(result.standbysAliveAtEnd).toBeLessThanOrEqual(1); // one waits for the next save; more would be a leak
    // Descriptors are counted, not timed: a leak of one per reload would show as +20.
    expect(result.batonFds.end - result.batonFds.start).toBeLessThanOrEqual(3);
  });
});
