import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { BatonProcess, CLI, FIXTURE } from './helpers/baton-process.js';
import { sleep, writeConfig } from './helpers/files.js';
import { DATA_PATHS, startFixture, useHarness } from './helpers/harness.js';
import { getJson } from './helpers/http.js';
import { Load } from './helpers/load.js';
import { spawnSync } from 'node:child_process';

// Side ports (--side-port): a second public port that follows the serving generation, as a
// metrics or admin listener of the gateway's must, switched and drained with the main one.

const h = useHarness();

/** Scrapes `url` on its own keep-alive connection until stopped: every answer's generation, and every failure. */
function scraper(url: string): { stop: () => Promise<{ generations: string[]; failures: string[] }> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const generations: string[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise<void>((resolve) => {
        const req = http.get(url, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            if (res.statusCode !== 200) failures.push(`status ${res.statusCode}: ${body.slice(0, 200)}`);
            else generations.push((JSON.parse(body) as { generation: string }).generation);
            resolve();
          });
        });
        req.on('error', (err) => {
          failures.push(err.message);
          resolve();
        });
      });
      await sleep(5);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return { generations, failures };
    },
  };
}

describe.each(DATA_PATHS)('side ports, on the %s', (_name, pathFlags) => {
  it('a public side port follows the serving generation across saves, with no failed request on either port', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', metrics: { portEnv: 'BATON_PORT_METRICS' } });
    h.baton = startFixture(config, [...pathFlags, '--side-port', '0:metrics']);
    const listening = await h.baton.waitFor((e) => e.type === 'listening');
    const sides = listening.sidePorts as Array<{ name: string; port: number; url: string }>;
    expect(sides).toEqual([{ name: 'metrics', port: expect.any(Number), url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) }]);
    await h.baton.serving(1);
    const url = await h.baton.url();
    const load = new Load(url, { clients: 6, slowClients: 2, slowMs: 300 });
    const scrape = scraper(`${sides[0]!.url}/metrics`);
    for (let gen = 2; gen <= 5; gen++) {
      writeConfig(config, { version: `v${gen}`, metrics: { portEnv: 'BATON_PORT_METRICS', delayMs: 30 } });
      await h.baton.serving(gen);
      // After the switch, a new scrape reads the generation serving now.
      expect(await getJson(`${sides[0]!.url}/metrics`)).toMatchObject({ side: 'metrics', generation: String(gen) });
      await sleep(100);
    }
    const main = await load.stop();
    const scraped = await scrape.stop();
    await h.baton.waitFor((e) => e.type === 'stopped' && e.gen === 4);
    expect(main.failed, JSON.stringify(main.causes)).toBe(0);
    expect(scraped.failures).toEqual([]);
    // Every generation was read in turn, never an older one after a newer one.
    const order = [...new Set(scraped.generations)];
    expect(order).toEqual(['1', '2', '3', '4', '5']);
    // The old generations' side ports were drained and stopped with them.
    const stops = h.baton.events.filter((e) => e.type === 'stopped');
    expect(stops.map((e) => e.gen)).toEqual([1, 2, 3, 4]);
    expect(stops.every((e) => e.drainTimedOut === false)).toBe(true);
  });
});

describe('side ports', () => {
  it('gives each instance {port:<name>} in its command and BATON_PORT_<NAME> in its environment, a new one each generation', async () => {
    const config = h.tmp.file('gateway.json');
    const both = (version: string): Record<string, unknown> => ({ version, metrics: { portArg: '--metrics-port' }, env: 'BATON_PORT_METRICS' });
    writeConfig(config, both('v1'));
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--side-port', '0:metrics', '-w', config, '--', 'node', FIXTURE, config, '--metrics-port', '{port:metrics}'], { cwd: h.tmp.dir });
    await h.baton.serving(1);
    writeConfig(config, both('v2'));
    await h.baton.serving(2);
    const listened = (gen: number): number => Number(/:(\d+)$/.exec(h.baton!.events.find((e) => e.type === 'output' && e.gen === gen && /^metrics listening/.test(e.line as string))!.line as string)![1]);
    const env = (gen: number): number => Number(/BATON_PORT_METRICS=(\d+)/.exec(h.baton!.events.find((e) => e.type === 'output' && e.gen === gen && /^env /.test(e.line as string))!.line as string)![1]);
    // The argument and the variable name the same port, and each generation gets its own.
    expect(listened(1)).toBe(env(1));
    expect(listened(2)).toBe(env(2));
    expect(listened(1)).not.toBe(listened(2));
  });

  it('rejects an instance that never opens its side port, naming it and where to take it from', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = startFixture(config, ['--side-port', '0:metrics', '--ready-timeout', '1500']);
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected' && e.gen === 1);
    expect(rejected.reason).toMatch(/healthy, but side port metrics \(:\d+\) accepts no connection; does the gateway take it from \{port:metrics\} or \$BATON_PORT_METRICS\?/);
  });

  it('of two side ports, the rejection names the one that never opened, even when the other opens after the health probe passed', async () => {
    const config = h.tmp.file('gateway.json');
    // metrics opens 600 ms after the main port is healthy; admin never opens.
    writeConfig(config, { version: 'v1', metrics: { portEnv: 'BATON_PORT_METRICS', delayMs: 600 } });
    h.baton = startFixture(config, ['--side-port', '0:metrics', '--side-port', '0:admin', '--ready-timeout', '2000']);
    const rejected = await h.baton.waitFor((e) => e.type === 'rejected' && e.gen === 1);
    expect(h.baton.events.some((e) => e.type === 'output' && e.gen === 1 && /^metrics listening/.test(e.line as string))).toBe(true);
    expect(rejected.reason).toMatch(/healthy, but side port admin \(:\d+\) accepts no connection; does the gateway take it from \{port:admin\} or \$BATON_PORT_ADMIN\?/);
  });

  it('a gateway with a fixed second port that exits when it is taken can now reload: the port comes from baton', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1', metrics: { portEnv: 'BATON_PORT_METRICS', onClash: 'exit' } });
    h.baton = startFixture(config, ['--side-port', '0:metrics']);
    await h.baton.serving(1);
    for (let gen = 2; gen <= 3; gen++) {
      writeConfig(config, { version: `v${gen}`, metrics: { portEnv: 'BATON_PORT_METRICS', onClash: 'exit' } });
      await h.baton.serving(gen);
    }
    expect(h.baton.events.filter((e) => e.type === 'rejected' || e.type === 'port-clash')).toEqual([]);
  });

  it('refuses bad --side-port values with one line and exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--side-port', '9090'], /--side-port must be <public port>:<name>, got "9090"/],
      [['--side-port', '9090:Metrics'], /--side-port name must be lower-case letters/],
      [['--side-port', '70000:metrics'], /the public port must be a whole number from 0 to 65535/],
      [['--side-port', '9090:m', '--side-port', '9091:m'], /--side-port m is given twice/],
      [['-p', '9090', '--side-port', '9090:m'], /port 9090 is already the public port or another side port/],
      [['--'], /the command names \{port:admin\} but no side port is called admin/],
    ];
    for (const [flags, message] of cases) {
      const command = flags[0] === '--' ? ['node', FIXTURE, 'x.json', '{port:admin}'] : ['node', FIXTURE, 'x.json'];
      const run = spawnSync(process.execPath, [CLI, ...flags.filter((f) => f !== '--'), '--', ...command], { encoding: 'utf8', timeout: 10_000 });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
  });

  it('a public side port that is taken stops baton at start with exit 1, naming the flag', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const config = h.tmp.file('gateway.json');
      writeConfig(config, { version: 'v1' });
      const run = spawnSync(process.execPath, [CLI, '-p', '0', '--side-port', `${taken}:metrics`, '--', 'node', FIXTURE, config], { encoding: 'utf8', timeout: 10_000 });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is already in use — stop the process holding it or choose another in --side-port ${taken}:metrics`));
    } finally {
      blocker.close();
    }
  });
});
