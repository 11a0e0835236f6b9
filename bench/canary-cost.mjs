#!/usr/bin/env node
// What a canary costs on the router: baton serving one generation against baton in a 50 %
// canary step (two generations, a coin per request), in the same alternating rounds, with
// nginx doing the same two things as the peer: proxying to one instance, and splitting
// round-robin over the same two instances baton's canary uses. The gateway is Caddy
// answering a fixed body (the fixture gateway without Caddy); each generation's body names
// its version, so the split is checked, not assumed. Reports throughput, the proxy's CPU
// per request and the canary-over-plain ratio for each proxy. Load: wrk when installed,
// else autocannon. First, `Router.route()` alone, ten million times with and without a
// canary: the router's own cost, which the whole-path rounds cannot resolve.
//
//   node bench/canary-cost.mjs [--long: 6 rounds of 5 s, else 3 of 3 s] [--rounds N] [--seconds S] [--connections C]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import getPort from 'get-port';
import { startBaton } from './lib/baton.mjs';
import { gatewayEnv } from './lib/gateways.mjs';
import { cpuMs, peakRssMiB } from './lib/procstat.mjs';
import { load, loadGenerator } from './lib/wrk.mjs';
import { startNginx } from './lib/nginx.mjs';
import { flag, fmt, installed, isLong, mean, printMachine, table, tempDir, writeResults, runIfMain, FIXTURE } from './lib/util.mjs';
import { Router } from '../dist/proxy/router.js';

/** ns per `route()`: the serving generation only, a 50 % canary, and a pinned request (`baton-generation`). */
function routeAlone(calls) {
  const router = new Router(1000);
  const [one, two] = [{ id: 1 }, { id: 2 }];
  router.promote(one);
  router.addPreview(two);
  let sink = 0;
  const time = (pin) => {
    for (let i = 0; i < calls / 10; i++) sink += router.route(pin).id; // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) sink += router.route(pin).id;
    return Number(process.hrtime.bigint() - t0) / calls;
  };
  const plain = time(undefined);
  router.setCanary(two, 0.5);
  const canary = time(undefined);
  const pinned = time(2);
  if (sink === 0) throw new Error('unreachable');
  return { plain, canary, pinned };
}

/** The gateway's config for one version: Caddy's fixed answer, or the fixture's config. */
function gatewayConfig(caddy, version) {
  return caddy ? `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\trespond \`${JSON.stringify({ version, padding: 'x'.repeat(200) })}\` 200\n}\n` : `${JSON.stringify({ version })}\n`;
}

/** The share of `n` sequential requests whose body names `version`, percent. */
async function shareOf(url, version, n = 400) {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const body = await (await fetch(url)).text();
    if (body.includes(`"version":"${version}"`)) hits++;
  }
  return (hits / n) * 100;
}

export async function canaryCost(argv = process.argv) {
  const machine = printMachine();
  const long = isLong(argv);
  const o = { rounds: flag('rounds', long ? 6 : 3, argv), seconds: flag('seconds', long ? 5 : 3, argv), connections: flag('connections', 50, argv) };
  const alone = routeAlone(10_000_000);
  const micro = table(['route()', 'ns per call'], [['one generation', fmt(alone.plain, 1)], ['a 50 % canary (Math.random per call)', fmt(alone.canary, 1)], ['pinned (baton-generation: a Map lookup)', fmt(alone.pinned, 1)]]);
  console.log(`\n## route() alone, 10,000,000 calls each\n\n${micro}`);
  const caddy = installed('caddy');
  const nginx = installed('nginx');
  if (!nginx) console.log('SKIPPED the nginx rows: nginx is not installed (apt-get install nginx)');
  const dir = tempDir();
  const env = gatewayEnv(dir);
  const configFile = (name) => path.join(dir, caddy ? `${name}.Caddyfile` : `${name}.json`);
  const command = (file) => (caddy ? ['caddy', 'run', '--config', file, '--adapter', 'caddyfile'] : ['node', FIXTURE, file]);

  // Plain: one generation. Canary: a second generation held in its first step, at 50 %, for longer than the bench.
  const plainFile = configFile('plain');
  writeFileSync(plainFile, gatewayConfig(caddy, 'v1'));
  const plain = await startBaton(['-p', String(await getPort({ host: '127.0.0.1' })), '--preset', 'none', '-w', plainFile], command(plainFile), { env, cwd: dir });
  const canaryFile = configFile('canary');
  writeFileSync(canaryFile, gatewayConfig(caddy, 'v1'));
  const canary = await startBaton(['-p', String(await getPort({ host: '127.0.0.1' })), '--preset', 'none', '--debounce', '20', '--canary', '50', '--canary-interval', '2147483647', '-w', canaryFile], command(canaryFile), { env, cwd: dir });
  writeFileSync(canaryFile, gatewayConfig(caddy, 'v2'));
  const candidatePort = (await canary.waitFor((e) => e.type === 'starting' && e.gen === 2)).port;
  await canary.waitFor((e) => e.type === 'canary' && e.gen === 2);

  const proxies = {
    baton: { label: 'baton, one generation', url: plain.url, pid: plain.pid },
    'baton-canary': { label: 'baton, a 50 % canary step (a coin per request)', url: canary.url, pid: canary.pid },
  };
  const peers = [];
  if (nginx) {
    const one = await startNginx(dir, 'nginx-one', [plain.privatePort]);
    const split = await startNginx(dir, 'nginx-split', [canary.privatePort, candidatePort]);
    peers.push(one, split);
    proxies.nginx = { label: 'nginx, one upstream', url: one.url, pid: one.pid };
    proxies['nginx-split'] = { label: 'nginx, round-robin over the same two instances', url: split.url, pid: split.pid };
  }
  const split = { baton: await shareOf(`${canary.url}/`, 'v2'), ...(nginx ? { nginx: await shareOf(`${proxies['nginx-split'].url}/`, 'v2') } : {}) };
  console.log(`\n## canary cost: ${caddy ? 'Caddy respond' : 'fixture gateway'}, ${o.rounds} rounds of ${o.seconds} s per proxy, ${o.connections} connections, load by ${loadGenerator()}`);
  console.log(`share of 400 sequential requests answered by the second generation: baton ${fmt(split.baton, 1)} %${nginx ? `, nginx ${fmt(split.nginx, 1)} %` : ''}\n`);

  const names = Object.keys(proxies);
  for (const name of names) await load(`${proxies[name].url}/`, o.connections, 1); // warm-up
  const rounds = [];
  for (let i = 0; i < o.rounds; i++) {
    // Each round starts with another proxy, so drift of the machine spreads over all of them.
    for (const name of [...names.slice(i % names.length), ...names.slice(0, i % names.length)]) {
      const { pid, url } = proxies[name];
      const cpu0 = cpuMs(pid);
      const r = await load(`${url}/`, o.connections, o.seconds);
      rounds.push({ proxy: name, round: i, ...r, cpuUsPerReq: ((cpuMs(pid) - cpu0) * 1000) / r.requests });
    }
  }
  const rows = names.map((name) => {
    const of = rounds.filter((r) => r.proxy === name);
    const cpus = of.map((r) => r.cpuUsPerReq);
    return { name, rps: mean(of.map((r) => r.rps)), cpu: mean(cpus), cpuMin: Math.min(...cpus), cpuMax: Math.max(...cpus), errors: of.reduce((a, r) => a + r.errors, 0), rss: peakRssMiB(proxies[name].pid) };
  });
  const stillCanary = !canary.events.some((e) => e.type === 'serving' && e.gen === 2);
  for (const p of peers) await p.stop();
  await plain.stop();
  await canary.stop();
  if (!stillCanary) throw new Error('the canary was promoted during the bench: its numbers are not a canary’s');

  const row = (name) => rows.find((r) => r.name === name);
  const ratio = (a, b) => (row(a) && row(b) ? `${fmt(row(a).rps / row(b).rps, 3)}× req/s, ${fmt(row(a).cpu / row(b).cpu, 3)}× CPU/req` : '—');
  const md = table(
    ['proxy', 'req/s', 'proxy CPU µs/req (rounds min–max)', 'peak RSS (MiB)', 'errors'],
    rows.map((r) => [proxies[r.name].label, fmt(r.rps), `${fmt(r.cpu, 1)} (${fmt(r.cpuMin, 1)}–${fmt(r.cpuMax, 1)})`, fmt(r.rss, 1), r.errors]),
  );
  const ratios = `split over one: baton ${ratio('baton-canary', 'baton')}${nginx ? `; nginx ${ratio('nginx-split', 'nginx')}` : ''}`;
  console.log(`${md}\n\n${ratios}\n`);
  writeResults('canary-cost', { scenario: 'canary-cost', machine, options: o, routeAlone: alone, split, rows, rounds, table: md, ratios });
  return { rows, md, split, ratios, alone };
}

runIfMain(import.meta.url, () => canaryCost());
