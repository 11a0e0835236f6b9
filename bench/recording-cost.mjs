#!/usr/bin/env node
// What the accounting and the request inspector cost on the data path: three batons in
// front of one Caddy (or the fixture gateway without Caddy), loaded in alternating rounds
// by the same load generator — baton as shipped (accounting, recording at its default, the
// control plane), baton with `--record 0 --admin off` (accounting only), and, with
// `--before <dist/cli/main.js of an older build>`, a build from before observe/ existed
// (neither). Reports throughput, baton's CPU per request and peak RSS per mode, and the
// difference in µs per request. Load: wrk when installed (a C program, which leaves more
// CPU to the proxy), else autocannon.
//
//   node bench/recording-cost.mjs [--before /tmp/old/dist/cli/main.js] [--long: 6 rounds of 5 s, else 3 of 3 s] [--rounds N] [--seconds S] [--record <MiB>]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import getPort from 'get-port';
import { startBaton } from './lib/baton.mjs';
import { load, loadGenerator } from './lib/wrk.mjs';
import { gatewayEnv } from './lib/gateways.mjs';
import { start, stop, waitHttp } from './lib/proc.mjs';
import { cpuMs, peakRssMiB } from './lib/procstat.mjs';
import { flag, fmt, installed, isLong, mean, printMachine, table, tempDir, writeResults, runIfMain, FIXTURE } from './lib/util.mjs';

export async function recordingCost(argv = process.argv) {
  const machine = printMachine();
  const long = isLong(argv);
  const o = { rounds: flag('rounds', long ? 6 : 3, argv), seconds: flag('seconds', long ? 5 : 3, argv), connections: flag('connections', 50, argv), before: flag('before', '', argv) };
  const dir = tempDir();
  const caddy = installed('caddy');
  const file = path.join(dir, caddy ? 'Caddyfile' : 'gateway.json');
  writeFileSync(file, caddy ? `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\trespond \`${JSON.stringify({ hello: 'world', padding: 'x'.repeat(200) })}\` 200\n}\n` : `${JSON.stringify({ version: 'v1' })}\n`);
  const command = caddy ? ['caddy', 'run', '--config', file, '--adapter', 'caddyfile'] : ['node', FIXTURE, file];
  const env = gatewayEnv(dir);
  const record = flag('record', 0, argv);
  const modes = {
    shipped: record ? { label: `baton --record ${record} (accounting + inspector ${record} MiB + control plane)`, args: ['--record', String(record)] } : { label: 'baton as shipped (accounting + inspector at its default + control plane)', args: [] },
    accounting: { label: 'baton --record 0 --admin off (accounting only)', args: ['--record', '0', '--admin', 'off'] },
    ...(o.before ? { before: { label: `baton before observe/ (${o.before})`, args: [], cli: o.before } } : {}),
  };
  const batons = {};
  for (const [name, mode] of Object.entries(modes)) {
    const port = await getPort({ host: '127.0.0.1' });
    batons[name] = await startBaton(['-p', String(port), '--preset', 'none', ...mode.args, '-w', file], command, { env, cwd: dir, ...(mode.cli ? { cli: mode.cli } : {}) });
  }
  console.log(`\n## recording cost: ${caddy ? 'Caddy respond' : 'fixture gateway'}, ${o.rounds} rounds of ${o.seconds} s per mode, ${o.connections} connections, load by ${loadGenerator()}\n`);
  for (const name of Object.keys(modes)) await load(`${batons[name].url}/`, o.connections, 1); // warm-up
  const rounds = [];
  const names = Object.keys(modes);
  for (let i = 0; i < o.rounds; i++) {
    // Each round starts with another mode, so drift of the machine spreads over all of them.
    for (const name of [...names.slice(i % names.length), ...names.slice(0, i % names.length)]) {
      const pid = batons[name].pid;
      const cpu0 = cpuMs(pid);
      const r = await load(`${batons[name].url}/`, o.connections, o.seconds);
      rounds.push({ mode: name, round: i, ...r, cpuUsPerReq: ((cpuMs(pid) - cpu0) * 1000) / r.requests });
    }
  }
  const rows = Object.keys(modes).map((name) => {
    const of = rounds.filter((r) => r.mode === name);
    const cpus = of.map((r) => r.cpuUsPerReq);
    return { name, rps: mean(of.map((r) => r.rps)), cpu: mean(cpus), cpuMin: Math.min(...cpus), cpuMax: Math.max(...cpus), errors: of.reduce((a, r) => a + r.errors, 0), rss: peakRssMiB(batons[name].pid) };
  });
  for (const name of Object.keys(modes)) await batons[name].stop();
  const base = rows.find((r) => r.name === (o.before ? 'before' : 'accounting'));
  const md = table(
    ['mode', 'req/s', 'baton CPU µs/req (rounds min–max)', `vs ${base.name}`, 'peak RSS (MiB)', 'errors'],
    rows.map((r) => [modes[r.name].label, fmt(r.rps), `${fmt(r.cpu, 1)} (${fmt(r.cpuMin, 1)}–${fmt(r.cpuMax, 1)})`, `${r.cpu - base.cpu >= 0 ? '+' : ''}${fmt(r.cpu - base.cpu, 1)} µs`, fmt(r.rss, 1), r.errors]),
  );
  console.log(`${md}\n`);
  writeResults('recording-cost', { scenario: 'recording-cost', machine, options: o, rows, rounds, table: md });
  return { rows, md };
}

runIfMain(import.meta.url, () => recordingCost());
