#!/usr/bin/env node
// Overhead scenario: the same load straight to the gateway (its private port), through
// baton, through baton --no-fast-path (node:http's path), and through three reference
// fronts: nginx (one worker, upstream keepalive: the peer), a 20-line Node proxy
// (bench/lib/minimal-proxy.mjs, the floor for any Node HTTP hop) and a raw TCP pipe
// (bench/lib/tcp-pipe-proxy.mjs, the floor for any userspace hop), in one run, alternating
// rounds (direct, baton, http, nginx, minimal, pipe, direct, …) so machine drift hits all
// alike. Full-speed rounds are loaded by wrk when it is installed (a C program: it leaves
// the CPU to the fronts; autocannon's own use of the two cores hides their differences),
// else autocannon; the fixed-rate rounds (latency at 1,000 req/s) always by autocannon,
// which keeps every latency. Reports the throughput ratio, the latency baton adds at the
// fixed rate, the CPU time per proxied request and peak RSS of each front.
//
//   node bench/overhead.mjs            3 rounds of 2 s per path and measurement (about 55 s per gateway)
//   node bench/overhead.mjs --long     5 rounds of 5 s per path and measurement
//   node bench/overhead.mjs --gateway caddy-static --connections 64 --rate 2000
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import getPort from 'get-port';
import { startBaton } from './lib/baton.mjs';
import { start, stop, waitHttp } from './lib/proc.mjs';
import { cannon } from './lib/cannon.mjs';
import { caddyGateway, fixtureGateway, gatewayEnv } from './lib/gateways.mjs';
import { cpuMs, peakRssMiB } from './lib/procstat.mjs';
import { chart } from './lib/svg.mjs';
import { Timeline } from './lib/timeline.mjs';
import { startNginx } from './lib/nginx.mjs';
import { load, loadGenerator } from './lib/wrk.mjs';
import { flag, fmt, installed, isLong, mean, percentile, printMachine, table, tempDir, writeResults, runIfMain } from './lib/util.mjs';

/**
 * The proxies compared with baton: baton itself with --no-fast-path (node:http's path, its
 * own instance of the same gateway), and reference scripts in bench/lib run with PORT
 * and TARGET in front of baton's gateway instance.
 */
const REFERENCES = {
  http: { label: 'baton --no-fast-path (node:http path)', mark: 'H' },
  nginx: { nginx: true, label: 'nginx (one worker, upstream keepalive)', mark: 'N' },
  minimal: { script: 'minimal-proxy.mjs', label: 'minimal Node proxy (lib/minimal-proxy.mjs)', mark: 'M' },
  pipe: { script: 'tcp-pipe-proxy.mjs', label: 'raw TCP pipe (lib/tcp-pipe-proxy.mjs)', mark: 'P' },
};
const MODES = ['direct', 'baton', ...Object.keys(REFERENCES)];
const MARKS = { direct: 'D', baton: 'B', ...Object.fromEntries(Object.entries(REFERENCES).map(([name, r]) => [name, r.mark])) };

/** Alternating rounds; one record per round with the proxy's (baton or a reference) and the gateway's CPU use. */
async function rounds({ urls, pids, pairs, seconds, connections, rate, timeline, label }) {
  const out = [];
  for (let i = 0; i < pairs; i++) {
    for (const mode of MODES) {
      if (!urls[mode]) continue; // a front that is not installed
      timeline.mark(`${MARKS[mode]}${label}`);
      const proxyPid = pids[mode === 'direct' ? 'baton' : mode];
      const before = { proxy: cpuMs(proxyPid), gateway: cpuMs(pids.gateway) };
      const r = rate === undefined && installed('wrk') ? { ...(await load(urls[mode], connections, seconds)), non2xx: 0, latencies: [] } : await cannon({ url: urls[mode], connections, seconds, rate, timeline });
      const after = { proxy: cpuMs(proxyPid), gateway: cpuMs(pids.gateway) };
      out.push({ mode, pair: i, ...r, proxyCpuMs: after.proxy - before.proxy, gatewayCpuMs: after.gateway - before.gateway });
    }
  }
  return out;
}

/** A reference proxy (bench/lib/<script>) in front of the gateway instance baton runs. */
async function startReference(script, targetPort) {
  const port = await getPort({ host: '127.0.0.1' });
  script = new URL(`./lib/${script}`, import.meta.url).pathname;
  const child = start(process.execPath, [script], { env: { ...process.env, PORT: String(port), TARGET: String(targetPort) } });
  await waitHttp(port, { child });
  return { child, url: `http://127.0.0.1:${port}/` };
}

const usPerRequest = (list, key) => (list.reduce((a, r) => a + r[key], 0) * 1000) / list.reduce((a, r) => a + r.requests, 0);

async function measure(gateway, o) {
  const dir = tempDir();
  await gateway.prepare(dir);
  const file = path.join(dir, gateway.file);
  writeFileSync(file, gateway.config('v0'));
  const baton = await startBaton(['-p', '0', '-w', file], gateway.command(file), { env: gatewayEnv(dir), cwd: dir });
  const urls = { direct: `http://127.0.0.1:${baton.privatePort}/`, baton: `${baton.url}/` };
  const pids = { baton: baton.pid, gateway: baton.gatewayPid };
  const refs = {};
  const slowBaton = await startBaton(['-p', '0', '--no-fast-path', '-w', file], gateway.command(file), { env: gatewayEnv(dir), cwd: dir });
  urls.http = `${slowBaton.url}/`;
  pids.http = slowBaton.pid;
  for (const [name, { script, nginx }] of Object.entries(REFERENCES)) {
    if (nginx && !installed('nginx')) console.log('SKIPPED the nginx front: nginx is not installed (apt-get install nginx)');
    if (nginx && installed('nginx')) refs[name] = await startNginx(dir, 'nginx', [baton.privatePort]);
    else if (script) refs[name] = await startReference(script, baton.privatePort);
    else continue;
    urls[name] = refs[name].url.endsWith('/') ? refs[name].url : `${refs[name].url}/`;
    pids[name] = refs[name].child.pid;
  }
  const timeline = new Timeline();
  // Warm-up (JIT, keep-alive pools) on every path, not recorded.
  for (const mode of MODES) if (urls[mode]) await cannon({ url: urls[mode], connections: o.connections, seconds: 1 });
  timeline.t0 = performance.now();
  const max = await rounds({ urls, pids, pairs: o.pairs, seconds: o.seconds, connections: o.connections, timeline, label: '' });
  const fixed = await rounds({ urls, pids, pairs: o.ratePairs, seconds: o.rateSeconds, connections: 10, rate: o.rate, timeline, label: '@rate' });
  const peakRss = peakRssMiB(baton.pid);
  const refPeakRss = Object.fromEntries(Object.keys(REFERENCES).filter((name) => pids[name]).map((name) => [name, peakRssMiB(pids[name])]));
  for (const ref of Object.values(refs)) await (ref.stop ? ref.stop() : stop(ref.child));
  await slowBaton.stop();
  await baton.stop();
  await gateway.cleanup();

  const by = (list, mode) => list.filter((r) => r.mode === mode);
  const ratiosOf = (mode) => by(max, mode).map((b, i) => b.rps / by(max, 'direct')[i].rps);
  const ratios = ratiosOf('baton');
  const pooled = (mode, p) => percentile(by(fixed, mode).flatMap((r) => r.latencies), p);
  const pairDiff = (p) => by(fixed, 'baton').map((b, i) => percentile(b.latencies, p) - percentile(by(fixed, 'direct')[i].latencies, p));
  const strip = (list) => list.map(({ latencies, ...r }) => r);
  /** The same figures for each reference proxy, from the same rounds. */
  const references = Object.entries(REFERENCES).filter(([name]) => urls[name]).map(([name, { label }]) => {
    const list = ratiosOf(name);
    return {
      name,
      label,
      rps: mean(by(max, name).map((r) => r.rps)),
      ratio: mean(list),
      ratioMin: Math.min(...list),
      ratioMax: Math.max(...list),
      addedP50Ms: pooled(name, 50) - pooled('direct', 50),
      addedP99Ms: pooled(name, 99) - pooled('direct', 99),
      cpuUsPerReq: usPerRequest(by(max, name), 'proxyCpuMs'),
      cpuUsPerReqAtRate: usPerRequest(by(fixed, name), 'proxyCpuMs'),
      peakRssMiB: refPeakRss[name],
    };
  });
  return {
    gateway: gateway.label,
    directRps: mean(by(max, 'direct').map((r) => r.rps)),
    batonRps: mean(by(max, 'baton').map((r) => r.rps)),
    ratio: mean(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    directP50Ms: pooled('direct', 50),
    directP99Ms: pooled('direct', 99),
    batonP50Ms: pooled('baton', 50),
    batonP99Ms: pooled('baton', 99),
    addedP50Ms: pooled('baton', 50) - pooled('direct', 50),
    addedP99Ms: pooled('baton', 99) - pooled('direct', 99),
    addedP99PerPairMs: pairDiff(99),
    batonCpuUsPerReq: usPerRequest(by(max, 'baton'), 'proxyCpuMs'),
    batonCpuUsPerReqAtRate: usPerRequest(by(fixed, 'baton'), 'proxyCpuMs'),
    gatewayCpuUsPerReqDirect: usPerRequest(by(max, 'direct'), 'gatewayCpuMs'),
    batonPeakRssMiB: peakRss,
    references,
    errors: [...max, ...fixed].reduce((a, r) => a + r.errors + r.non2xx, 0),
    rounds: { max: strip(max), fixed: strip(fixed) },
    timeline: timeline.toJSON(),
  };
}

export async function overheadScenario(argv = process.argv) {
  const long = isLong(argv);
  const machine = printMachine();
  const o = {
    pairs: flag('pairs', long ? 5 : 3, argv),
    seconds: flag('seconds', long ? 5 : 2, argv),
    connections: flag('connections', 32, argv),
    rate: flag('rate', 1000, argv),
    ratePairs: long ? 5 : 2,
    rateSeconds: long ? 5 : 2,
  };
  console.log(`\n## overhead: ${o.pairs} × (${MODES.join(', ')}) rounds of ${o.seconds} s at full speed (${o.connections} connections, load by ${loadGenerator()}), ${o.ratePairs} × ${o.rateSeconds} s at ${o.rate} req/s (10 connections, autocannon), GET /\n`);
  const only = flag('gateway', undefined, argv);
  const results = [];
  for (const gateway of [fixtureGateway(), caddyGateway({ backend: 'caddy' })]) {
    if (only && gateway.name !== only) continue;
    if (gateway.missing) {
      console.log(`SKIPPED ${gateway.label}: ${gateway.missing}`);
      continue;
    }
    console.log(`measuring ${gateway.label}…`);
    results.push(await measure(gateway, o));
  }
  const md = table(
    ['gateway', 'direct req/s', 'via baton req/s', 'ratio (min–max)', `added p50 @${o.rate}/s (ms)`, `added p99 @${o.rate}/s (ms)`, 'baton CPU µs/req (full speed)', `baton CPU µs/req @${o.rate}/s`, 'gateway CPU µs/req (direct)', 'baton peak RSS (MiB)', 'errors'],
    results.map((r) => [
      r.gateway,
      fmt(r.directRps),
      fmt(r.batonRps),
      `${fmt(r.ratio * 100, 1)} % (${fmt(r.ratioMin * 100, 1)}–${fmt(r.ratioMax * 100, 1)})`,
      `${fmt(r.addedP50Ms, 3)} (${fmt(r.directP50Ms, 3)} → ${fmt(r.batonP50Ms, 3)})`,
      `${fmt(r.addedP99Ms, 3)} (${fmt(r.directP99Ms, 3)} → ${fmt(r.batonP99Ms, 3)})`,
      fmt(r.batonCpuUsPerReq, 1),
      fmt(r.batonCpuUsPerReqAtRate, 1),
      fmt(r.gatewayCpuUsPerReqDirect, 1),
      fmt(r.batonPeakRssMiB, 1),
      r.errors,
    ]),
  );
  const reference = table(
    ['gateway', 'reference proxy', 'req/s', 'ratio to direct (min–max)', `added p99 @${o.rate}/s (ms)`, 'CPU µs/req (full speed)', `CPU µs/req @${o.rate}/s`, 'peak RSS (MiB)'],
    results.flatMap((r) => [
      [r.gateway, 'baton', fmt(r.batonRps), `${fmt(r.ratio * 100, 1)} % (${fmt(r.ratioMin * 100, 1)}–${fmt(r.ratioMax * 100, 1)})`, fmt(r.addedP99Ms, 3), fmt(r.batonCpuUsPerReq, 1), fmt(r.batonCpuUsPerReqAtRate, 1), fmt(r.batonPeakRssMiB, 1)],
      ...r.references.map((ref) => [r.gateway, ref.label, fmt(ref.rps), `${fmt(ref.ratio * 100, 1)} % (${fmt(ref.ratioMin * 100, 1)}–${fmt(ref.ratioMax * 100, 1)})`, fmt(ref.addedP99Ms, 3), fmt(ref.cpuUsPerReq, 1), fmt(ref.cpuUsPerReqAtRate, 1), fmt(ref.peakRssMiB, 1)]),
    ]),
  );
  console.log(
    `\n${md}\n\nThe same rounds through baton --no-fast-path (node:http's path), nginx (one worker, upstream keepalive), bench/lib/minimal-proxy.mjs (20 lines of node:http, no baton features: the floor for one Node HTTP hop here) and bench/lib/tcp-pipe-proxy.mjs (bytes piped, no HTTP parsing: the floor for any userspace hop):\n\n${reference}\n`,
  );
  const svg = chart(
    'overhead: alternating rounds, direct vs through baton',
    results.map((r) => ({ title: `${r.gateway}: baton/direct ${fmt(r.ratio * 100, 1)} %, +${fmt(r.addedP99Ms, 3)} ms p99 @${o.rate}/s`, timeline: r.timeline })),
    `blue: answers/s (left axis) · red: failed per 100 ms (right axis) · dashed: round starts: D direct, B baton, H baton --no-fast-path, N nginx, M minimal Node proxy, P raw TCP pipe; @rate = fixed ${o.rate} req/s`,
  );
  writeResults('overhead', { scenario: 'overhead', machine, options: o, results, table: md, reference }, svg);
  return { results, md, reference };
}

runIfMain(import.meta.url, () => overheadScenario());
