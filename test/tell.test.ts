import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { writeConfig } from './helpers/files.js';
import { startFixture, useHarness } from './helpers/harness.js';

const h = useHarness();

// Tell, don't wait: a gateway that cannot become healthy is named for what it does,
// early, instead of 30 s of silence or a wrong hint.
describe('tell, do not wait', () => {
  it('a gateway that does not listen on its port gets a hint after 3 s, long before --ready-timeout', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', wrongPort: true });
    h.baton = startFixture(config, ['--ready-timeout', '60000']);
    const starting = await h.baton.waitFor((e) => e.type === 'starting');
    const hint = await h.baton.waitFor((e) => e.type === 'warning' && e.gen === 1, { timeoutMs: 15_000 });
    expect(hint.message).toBe(`gen 1: nothing listens on :${starting.port as number} after 3 s — does the gateway take its port from {port} or $PORT?`);
    expect(h.baton.events.some((e) => e.type === 'rejected')).toBe(false);
  });

  it('a health probe answered 503 is not told to check the port; the hint names --health', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', neverHealthy: true });
    h.baton = startFixture(config, ['--ready-timeout', '1500']);
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected');
    expect(rejected.reason).toMatch(/^not healthy within 1500 ms \(GET \/: GET \/ answered 503\); it answers, but not below 500: does --health name a path/);
    expect(rejected.reason).not.toMatch(/does the gateway listen/);
    expect(h.baton.events.some((e) => e.type === 'warning' && e.gen === 1)).toBe(false);
  });

  for (const kind of ['go', 'alert'] as const) {
    it(`a gateway that answers as a TLS server (${kind === 'go' ? "Go's 400 answer" : 'a TLS alert'}) but completes no handshake is rejected at once with that reason`, async () => {
      const config = h.tmp.file('gateway.json');
      writeConfig(config, { version: 'v1', speaksTls: kind });
      h.baton = startFixture(config, ['--ready-timeout', '60000']);
      const rejected = await h.baton.waitFor((e) => e.type === 'rejected');
      expect(rejected.reason).toMatch(/^the TLS handshake with its private port :\d+ failed \([A-Z_]+\): it answered plain HTTP the way a TLS server does, but completes no TLS handshake$/);
      expect(h.baton.events.some((e) => e.type === 'serving')).toBe(false);
    });
  }

  it('an EADDRINUSE on a fixed port of its own is no race for the instance port: no retries, the line in the reason', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const fixed = (taken.address() as net.AddressInfo).port;
    try {
      const config = h.tmp.file('gateway.json');
      writeConfig(config, { version: 'v1', fixedPort: fixed });
      h.baton = startFixture(config);
      const rejected = await h.baton.waitFor((e) => e.type === 'rejected');
      expect(rejected.reason).toBe(
        `exited with code 1 before becoming healthy: listen tcp :${fixed}: bind: address already in use — port ${fixed} is fixed in the gateway's config, and while two generations overlap only one can hold it: take it from the environment per instance, or turn it off while developing`,
      );
      expect(h.baton.events.filter((e) => e.type === 'port-clash')).toEqual([]);
      expect(h.baton.events.filter((e) => e.type === 'starting')).toHaveLength(1);
    } finally {
      taken.close();
    }
  });
});
