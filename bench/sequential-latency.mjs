#!/usr/bin/env node
// Latency one request at a time: one keep-alive connection sends GET / back to back, so
// nothing queues behind anything. Rounds alternate between the gateway directly, baton,
// baton --no-fast-path and the raw TCP pipe (bench/lib/tcp-pipe-proxy.mjs), in front of
// the fixture gateway. The overhead scenario's fixed-rate rounds measure latency under
// autocannon's bursts (its connections fire together); this isolates the time a hop adds.
//
//   node bench/sequential-latency.mjs                 4 rounds of 2,000 requests per path
//   node bench/sequential-latency.mjs --rounds 6 --requests 5000
import http from 'node:http';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import getPort from 'get-port';
import { startBaton } from './lib/baton.mjs';
import { fixtureGateway, gatewayEnv } from './lib/gateways.mjs';
import { start, stop, waitHttp } from './lib/proc.mjs';
import { flag, fmt, percentile, printMachine, table, tempDir, writeResults, runIfMain } from './lib/util.mjs';

/** `n` GETs one after another on one keep-alive connection; the latency of each, in ms. */
async function sequential(port, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  const ms = [];
  try {
    for (let i = 0; i < 100; i++) await get(); // warm: JIT, the connection, baton's pool
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await get();
      ms.push(performance.now() - t0);
    }
  } finally {
    agent.destroy();
  }
  return ms;
}

export async function sequentialLatency(argv = process.argv) {
  const machine = printMachine();
  const o = { rounds: flag('rounds', 4, argv), requests: flag('requests', 2000, argv) };
  console.log(`\n## sequential latency: ${o.rounds} × (direct, baton, baton --no-fast-path, pipe) rounds of ${o.requests} GET / back to back on one connection, fixture gateway\n`);
  const dir = tempDir();
  const gateway = fixtureGateway();
  const file = path.join(dir, gateway.file);
  writeFileSync(file, gateway.config('v0'));
  const baton = await startBaton(['-p', '0', '-w', file], gateway.command(file), { env: gatewayEnv(dir), cwd: dir });
  const slow = await startBaton(['-p', '0', '--no-fast-path', '-w', file], gateway.command(file), { env: gatewayEnv(dir), cwd: dir });
  const pipePort = await getPort({ host: '127.0.0.1' });
  const pipe = start(process.execPath, [new URL('./lib/tcp-pipe-proxy.mjs', import.meta.url).pathname], { env: { ...process.env, PORT: String(pipePort), TARGET: String(baton.privatePort) } });
  await waitHttp(pipePort, { child: pipe });
  const ports = { direct: baton.privatePort, baton: baton.port, http: slow.port, pipe: pipePort };
  const labels = { direct: 'direct', baton: 'baton', http: 'baton --no-fast-path', pipe: 'raw TCP pipe' };
  const samples = Object.fromEntries(Object.keys(ports).map((k) => [k, []]));
  try {
    for (let r = 0; r < o.rounds; r++) for (const [mode, port] of Object.entries(ports)) samples[mode].push(...(await sequential(port, o.requests)));
  } finally {
    await stop(pipe);
    await slow.stop();
    await baton.stop();
  }
  const stat = (mode, p) => percentile(samples[mode], p);
  const results = Object.keys(ports).map((mode) => ({
    mode,
    label: labels[mode],
    p50: stat(mode, 50),
    p90: stat(mode, 90),
    p99: stat(mode, 99),
    addedP50: stat(mode, 50) - stat('direct', 50),
    addedP99: stat(mode, 99) - stat('direct', 99),
  }));
  const md = table(
    ['path', 'p50 (ms)', 'p90 (ms)', 'p99 (ms)', 'added p50 (ms)', 'added p99 (ms)'],
    results.map((r) => [r.label, fmt(r.p50, 3), fmt(r.p90, 3), fmt(r.p99, 3), r.mode === 'direct' ? '—' : fmt(r.addedP50, 3), r.mode === 'direct' ? '—' : fmt(r.addedP99, 3)]),
  );
  console.log(`${md}\n`);
  writeResults('sequential-latency', { scenario: 'sequential-latency', machine, options: o, results, table: md });
  return { results, md };
}

runIfMain(import.meta.url, () => sequentialLatency());
