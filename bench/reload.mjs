#!/usr/bin/env node
// Reload scenario: steady closed-loop keep-alive load while the config is saved N times,
// under each reload strategy. Reports failed requests per save (by cause), save-to-serve
// latency (file write → first answer carrying the new version), the gateway's own
// time-to-healthy, and p99 latency during reloads.
//
//   node bench/reload.mjs              5 saves, 16 clients + 2 slow (about 2 minutes)
//   node bench/reload.mjs --long       20 saves, 32 clients + 4 slow
//   node bench/reload.mjs --saves 3 --gateway fixture   (fixture, caddy or nginx)
//   node bench/reload.mjs --baton-only   baton's runs only (unloaded, then under load): no restart, reflex or nginx
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ClosedLoad, causeGroup } from './lib/load.mjs';
import { caddyGateway, fixtureGateway, timeToHealthy } from './lib/gateways.mjs';
import { batonStrategy, nginxStrategy, reflexStrategy, restartStrategy } from './lib/strategies.mjs';
import { chart } from './lib/svg.mjs';
import { Timeline } from './lib/timeline.mjs';
import { flag, fmt, isLong, maxOf, median, minOf, percentile, printMachine, sleep, table, tempDir, writeResults, runIfMain } from './lib/util.mjs';

/** One strategy on one gateway: start, load, save N times, stop; returns the measurements. */
async function runOne(gateway, strategy, o) {
  const dir = tempDir();
  const file = path.join(dir, strategy.ownGateway ? 'nginx.conf' : gateway.file);
  if (!strategy.ownGateway) {
    await gateway.prepare(dir);
    writeFileSync(file, gateway.config('v0'));
  }
  const handle = await strategy.start({ gateway, dir, file });
  const configFor = strategy.ownGateway ? strategy.configFor : gateway.config;
  const timeline = new Timeline();
  const load = new ClosedLoad(handle.url, { clients: o.clients, slowClients: o.slowClients, slowMs: o.slowMs, pauseMs: o.pauseMs, mode: strategy.ownGateway ? 'echo' : gateway.mode, timeline });
  await sleep(o.warmMs);
  const saves = [];
  for (let i = 1; i <= o.saves; i++) {
    const version = `v${i}`;
    const at = performance.now();
    writeFileSync(file, configFor(version));
    timeline.mark(`save ${i}`, at);
    const seen = await load.waitVersion(version, 15_000);
    saves.push({ at, serveMs: seen === undefined ? NaN : seen - at });
    await sleep(o.gapMs);
  }
  const end = performance.now();
  timeline.endAt(end);
  const summary = await load.stop();
  await handle.stop();
  if (!strategy.ownGateway) await gateway.cleanup();

  // Failures and latency attributed to each save: from the write to the next write (or the end).
  const windows = saves.map((s, i) => [s.at, saves[i + 1]?.at ?? end]);
  const errorWindows = windows.map(([from, to]) => {
    const inside = load.failures.filter(([at]) => at >= from && at < to).map(([at]) => at);
    return inside.length === 0 ? 0 : maxOf(inside) - minOf(inside);
  });
  // "During reloads": answers completed between a write and 500 ms after the new version
  // served; "steady": all the others (the same load, no reload under way).
  const reloading = saves.map((s) => [s.at, s.at + (Number.isNaN(s.serveMs) ? 2000 : s.serveMs) + 500]);
  const during = [];
  const steady = [];
  load.doneAt.forEach((at, i) => (reloading.some(([from, to]) => at >= from && at <= to) ? during : steady).push(load.latency[i]));
  const groups = { refused: 0, reset: 0, '5xx': 0, other: 0 };
  for (const [cause, n] of Object.entries(summary.causes)) groups[causeGroup(cause)] += n;
  const seconds = (end - timeline.t0) / 1000;
  return {
    gateway: strategy.ownGateway ? 'nginx → fixture backend' : gateway.label,
    strategy: strategy.name,
    saves: o.saves,
    ok: summary.ok,
    failed: summary.failed,
    failedPerSave: summary.failed / o.saves,
    causes: summary.causes,
    causeGroups: groups,
    slow: summary.slow,
    errorWindowMs: median(errorWindows),
    saveToServeMs: saves.map((s) => Math.round(s.serveMs)),
    saveToServeMedianMs: median(saves.map((s) => s.serveMs)),
    rps: summary.ok / seconds,
    p99Ms: percentile(load.latency, 99),
    p99DuringReloadsMs: percentile(during, 99),
    p99SteadyMs: percentile(steady, 99),
    maxMs: maxOf(load.latency),
    baton: handle.events ? batonBreakdown(handle.events, saves, gateway.readyLine) : undefined,
    timeline: timeline.toJSON(),
  };
}

/**
 * Where baton's save-to-serve goes, from its own events (medians over the saves). The
 * gateway's start is read off its own "listening" line, so `own` is what baton adds:
 * watching, debounce, --check, spawn, health-poll lag and the switch. With early start
 * (the default debounce) the instance boots during the debounce, so listening → serving
 * is the health-poll lag or the rest of the debounce, whichever is longer.
 */
function batonBreakdown(events, saves, readyLine) {
  const parts = { detect: [], check: [], start: [], pollLag: [], switchToAnswer: [], own: [] };
  for (const save of saves) {
    // The generation that served this save (an early start that was abandoned is skipped).
    const change = events.find((e) => e.type === 'change' && e.at >= save.at);
    const serving = events.find((e) => e.type === 'serving' && e.at >= save.at);
    const starting = serving && events.find((e) => e.type === 'starting' && e.gen === serving.gen);
    const ready = starting && events.find((e) => e.type === 'output' && e.gen === starting.gen && readyLine.test(e.line));
    if (!change || !serving || !ready || Number.isNaN(save.serveMs)) continue;
    parts.detect.push(change.at - save.at);
    parts.check.push(starting.at - change.at);
    parts.start.push(ready.at - starting.at);
    parts.pollLag.push(serving.at - ready.at);
    parts.switchToAnswer.push(save.at + save.serveMs - serving.at);
    parts.own.push(save.serveMs - (ready.at - starting.at));
  }
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [`${k}Ms`, Math.round(median(v) * 10) / 10]));
}

export async function reloadScenario(argv = process.argv) {
  const long = isLong(argv);
  const machine = printMachine();
  const o = {
    saves: flag('saves', long ? 20 : 5, argv),
    clients: flag('clients', long ? 32 : 16, argv),
    slowClients: flag('slow-clients', long ? 4 : 2, argv),
    slowMs: 1500,
    gapMs: long ? 1500 : 700,
    warmMs: long ? 1000 : 500,
    pauseMs: 0,
    restartGraceMs: flag('restart-grace', 1000, argv),
  };
  const only = flag('gateway', undefined, argv);
  const batonOnly = argv.includes('--baton-only');
  console.log(`\n## reload: ${o.saves} saves under ${o.clients} keep-alive clients (GET / and POST 1–64 KiB) + ${o.slowClients} clients doing ${o.slowMs} ms requests\n`);
  const gateways = [fixtureGateway(), caddyGateway({ backend: 'fixture' })].filter((g) => !only || g.name === only);
  const healthy = {};
  const runs = [];
  const idle = [];
  for (const gateway of gateways) {
    if (gateway.missing) {
      console.log(`SKIPPED ${gateway.label}: ${gateway.missing}`);
      continue;
    }
    const dir = tempDir();
    await gateway.prepare(dir);
    healthy[gateway.label] = await timeToHealthy(gateway, dir, 5);
    await gateway.cleanup();
    console.log(`${gateway.label}: time-to-healthy ${fmt(healthy[gateway.label].ms, 1)} ms (median of ${healthy[gateway.label].samples.join(', ')} ms)`);
    // Unloaded: one client polling every 2 ms, so save-to-serve shows baton's own latency
    // rather than the gateway starting slower on a CPU shared with the load.
    // The default debounce (100 ms, early start), a shorter one, and one too short for early start.
    for (const strategy of [batonStrategy(), batonStrategy({ debounce: 100 }), batonStrategy({ debounce: 10 })]) {
      console.log(`running ${strategy.name} on ${gateway.label}, unloaded…`);
      const run = await runOne(gateway, strategy, { ...o, clients: 1, slowClients: 0, pauseMs: 2, gapMs: 300, warmMs: 300 });
      idle.push({ ...run, strategy: `${run.strategy} (unloaded)` });
    }
    const strategies = [batonStrategy(), ...(gateway.name === 'fixture' ? [batonStrategy({ debounce: 10 })] : []), ...(batonOnly ? [] : [restartStrategy({ graceMs: o.restartGraceMs }), reflexStrategy()])];
    for (const strategy of strategies) {
      if (strategy.missing) {
        console.log(`SKIPPED ${strategy.name} on ${gateway.label}: ${strategy.missing}`);
        continue;
      }
      console.log(`running ${strategy.name} on ${gateway.label}…`);
      runs.push(await runOne(gateway, strategy, o));
    }
  }
  if ((!only || only === 'nginx') && !batonOnly) {
    const nginx = nginxStrategy();
    if (nginx.missing) console.log(`SKIPPED nginx -s reload: ${nginx.missing}`);
    else {
      console.log('running nginx -s reload…');
      runs.push(await runOne(undefined, nginx, o));
    }
  }

  const rows = runs.map((r) => [
    r.gateway,
    r.strategy,
    fmt(r.failedPerSave, 1),
    `${r.causeGroups.refused} / ${r.causeGroups.reset} / ${r.causeGroups['5xx']} / ${r.causeGroups.other}`,
    `${r.slow.failed} / ${r.slow.ok + r.slow.failed}`,
    fmt(r.errorWindowMs, 0),
    fmt(r.saveToServeMedianMs, 0),
    healthy[r.gateway] ? fmt(healthy[r.gateway].ms, 0) : '—',
    `${fmt(r.p99SteadyMs, 1)} / ${fmt(r.p99DuringReloadsMs, 1)}`,
    fmt(r.rps, 0),
  ]);
  const header = ['gateway', 'strategy', 'failed / save', 'refused / reset / 5xx / other (total)', `slow (${o.slowMs} ms) failed / total`, 'error window / save (ms)', 'save-to-serve (ms, median)', 'gateway time-to-healthy (ms)', 'p99 steady / during reloads (ms)', 'answers/s'];
  const md = table(header, rows);
  console.log(`\n${md}\n`);
  const batonRuns = [...idle, ...runs.filter((r) => r.baton)];
  const breakdown = table(
    ['gateway', 'strategy', 'save → change (watch, early look or debounce)', 'change → spawned (--check, spawn or standby)', 'spawned → gateway listening', 'listening → serving (health-poll lag, or the rest of the debounce)', 'serving → first new answer', 'save-to-serve', 'baton\'s own (save-to-serve − gateway start)', 'vs time-to-healthy (unloaded, separate)'],
    batonRuns.map((r) => [
      r.gateway,
      r.strategy,
      fmt(r.baton.detectMs, 1),
      fmt(r.baton.checkMs, 1),
      fmt(r.baton.startMs, 1),
      fmt(r.baton.pollLagMs, 1),
      fmt(r.baton.switchToAnswerMs, 1),
      fmt(r.saveToServeMedianMs, 0),
      fmt(r.baton.ownMs, 0),
      `${fmt(r.saveToServeMedianMs - healthy[r.gateway]?.ms, 0)} (${fmt(healthy[r.gateway]?.ms, 0)})`,
    ]),
  );
  console.log(`baton's save-to-serve, step by step (ms, medians):\n\n${breakdown}\n`);
  const svg = chart(
    `reload: ${o.saves} saves under load, per strategy`,
    runs.map((r) => ({ title: `${r.strategy} — ${r.gateway}: ${fmt(r.failedPerSave, 1)} failed/save, save-to-serve ${fmt(r.saveToServeMedianMs, 0)} ms`, timeline: r.timeline })),
  );
  writeResults('reload', { scenario: 'reload', machine, options: o, timeToHealthy: healthy, runs, unloaded: idle, table: md, breakdown }, svg);
  return { runs, idle, healthy, md, breakdown };
}

runIfMain(import.meta.url, () => reloadScenario());
