#!/usr/bin/env node
// Compare two gateway configs under identical load: both run at once (each on its own
// free port), rounds alternate between them in ABBA order (A B, B A, A B, …) so steady
// and linear machine drift cancel, and the result is the per-pair ratio B/A with its spread.
//
//   node bench/compare.mjs --a cfgA --b cfgB [options] -- <gateway command>
//
// The command may contain {config} (replaced by the config path) and {port}; the gateway
// also gets PORT, BENCH_TMP (a temp folder removed afterwards) and XDG_CONFIG_HOME /
// XDG_DATA_HOME pointing into it. Options:
//   --pairs N          pairs of rounds (default 3)         --seconds S   per round (default 2)
//   --connections N    keep-alive connections (default 32) --rate R      fixed req/s instead of full speed
//   --path P           request path (default /)            --health P    readiness path (default --path)
//   --name NAME        results file name (default compare) → bench/results/NAME.json and .svg
//
//   node bench/compare.mjs --a bench/configs/caddy-a.Caddyfile --b bench/configs/caddy-b.Caddyfile \
//     -- caddy run --config {config} --adapter caddyfile
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import getPort from 'get-port';
import { cannon } from './lib/cannon.mjs';
import { cpuMs } from './lib/procstat.mjs';
import { start, stop, waitHttp } from './lib/proc.mjs';
import { chart } from './lib/svg.mjs';
import { Timeline } from './lib/timeline.mjs';
import { fmt, installed, mean, printMachine, stddev, table, tempDir, writeResults } from './lib/util.mjs';

/** Bad input: printed as one line, `compare: <problem> — <what to do>`, exit code 2. */
export class CompareUsageError extends Error {
  constructor(problem, hint) {
    super(`${problem} — ${hint}`);
    this.name = 'CompareUsageError';
  }
}

/** A gateway that would not start: one line with the reason, then its last output lines; exit code 1. */
class GatewayStartError extends Error {
  name = 'GatewayStartError';
}

async function startGateway(command, config, dir, health, side) {
  const port = await getPort({ host: '127.0.0.1' });
  const [cmd, ...args] = command.map((part) => part.replaceAll('{config}', path.resolve(config)).replaceAll('{port}', String(port)));
  const env = { ...process.env, PORT: String(port), BENCH_TMP: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg-config'), XDG_DATA_HOME: path.join(dir, 'xdg-data') };
  const child = start(cmd, args, { env, cwd: dir });
  try {
    await waitHttp(port, { path: health, child, timeoutMs: 30_000 });
  } catch {
    const exited = child.exitCode !== null || child.signalCode !== null;
    await stop(child);
    const tail = child.output().trim().split('\n').slice(-8).map((line) => `  ${line}`).join('\n');
    const what = exited ? `the gateway exited (${child.exitCode ?? child.signalCode}) before answering GET ${health}` : `the gateway did not answer GET ${health} below 500 on 127.0.0.1:${port} within 30 s`;
    throw new GatewayStartError(`config ${side.toUpperCase()} (${config}): ${what} — check the command and the config; it printed:\n${tail || '  (nothing)'}`);
  }
  return { child, port };
}

/**
 * @param {{a: string, b: string, command: string[], pairs?: number, seconds?: number, connections?: number,
 *          rate?: number, path?: string, health?: string, name?: string}} o
 */
export async function compare(o) {
  const machine = printMachine();
  const opts = { pairs: 3, seconds: 2, connections: 32, path: '/', name: 'compare', ...o };
  opts.health ??= opts.path;
  console.log(`\n## compare: ${path.basename(opts.a)} (A) vs ${path.basename(opts.b)} (B), ${opts.pairs} ABBA pairs of ${opts.seconds} s rounds, ${opts.connections} connections${opts.rate ? ` at ${opts.rate} req/s` : ''}, GET ${opts.path}\n`);
  const gateways = {};
  for (const side of ['a', 'b']) {
    try {
      gateways[side] = await startGateway(opts.command, opts[side], tempDir(), opts.health, side);
    } catch (err) {
      if (gateways.a) await stop(gateways.a.child);
      throw err;
    }
  }
  const url = (side) => `http://127.0.0.1:${gateways[side].port}${opts.path}`;
  for (const side of ['a', 'b']) await cannon({ url: url(side), connections: opts.connections, seconds: 1 }); // warm-up
  const timeline = new Timeline();
  const rounds = [];
  for (let i = 0; i < opts.pairs; i++) {
    for (const side of i % 2 === 0 ? ['a', 'b'] : ['b', 'a']) {
      timeline.mark(side.toUpperCase());
      const pid = gateways[side].child.pid;
      const cpu0 = cpuMs(pid);
      const { latencies, ...r } = await cannon({ url: url(side), connections: opts.connections, seconds: opts.seconds, rate: opts.rate, timeline });
      rounds.push({ side, pair: i, ...r, cpuUsPerReq: ((cpuMs(pid) - cpu0) * 1000) / r.requests });
    }
  }
  for (const side of ['a', 'b']) await stop(gateways[side].child);

  const of = (side) => rounds.filter((r) => r.side === side);
  const ratios = of('b').map((b, i) => b.rps / of('a')[i].rps);
  const p99Ratios = of('b').map((b, i) => b.p99 / of('a')[i].p99);
  const summary = {
    a: { rps: mean(of('a').map((r) => r.rps)), p99: mean(of('a').map((r) => r.p99)), cpuUsPerReq: mean(of('a').map((r) => r.cpuUsPerReq)) },
    b: { rps: mean(of('b').map((r) => r.rps)), p99: mean(of('b').map((r) => r.p99)), cpuUsPerReq: mean(of('b').map((r) => r.cpuUsPerReq)) },
    ratio: mean(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    ratioStddev: stddev(ratios),
    p99Ratio: mean(p99Ratios),
    errors: rounds.reduce((a, r) => a + r.errors + r.non2xx, 0),
  };
  const roundsMd = table(
    ['pair', 'config', 'req/s', 'p50 (ms)', 'p99 (ms)', 'gateway CPU µs/req', 'errors'],
    rounds.map((r) => [r.pair + 1, r.side.toUpperCase(), fmt(r.rps), fmt(r.p50, 3), fmt(r.p99, 3), fmt(r.cpuUsPerReq, 1), r.errors + r.non2xx]),
  );
  const md = table(
    ['A req/s', 'B req/s', 'B/A throughput (mean)', 'per-pair min–max', 'stddev', 'B/A p99', 'A CPU µs/req', 'B CPU µs/req', 'errors'],
    [[fmt(summary.a.rps), fmt(summary.b.rps), `${fmt(summary.ratio * 100, 1)} %`, `${fmt(summary.ratioMin * 100, 1)}–${fmt(summary.ratioMax * 100, 1)} %`, `${fmt(summary.ratioStddev * 100, 1)} pt`, `${fmt(summary.p99Ratio * 100, 1)} %`, fmt(summary.a.cpuUsPerReq, 1), fmt(summary.b.cpuUsPerReq, 1), summary.errors]],
  );
  console.log(`${roundsMd}\n\n${md}\n`);
  const svg = chart(`compare: A = ${path.basename(opts.a)}, B = ${path.basename(opts.b)}`, [{ title: `B/A throughput ${fmt(summary.ratio * 100, 1)} % (pairs ${fmt(summary.ratioMin * 100, 1)}–${fmt(summary.ratioMax * 100, 1)} %)`, timeline: timeline.toJSON() }], 'blue: answers per second (left axis) · red: failed requests per 100 ms (right axis) · dashed: round starts (A or B)');
  const { command, ...shown } = opts;
  writeResults(opts.name, { scenario: 'compare', machine, options: { ...shown, command: command.join(' ') }, summary, rounds, table: md, roundsTable: roundsMd, timeline: timeline.toJSON() }, svg);
  return { summary, md, roundsMd };
}

const USAGE = 'usage: node bench/compare.mjs --a cfgA --b cfgB [--pairs 3 --seconds 2 --connections 32 --rate R --path / --health P --name compare] -- <gateway command with {config}>';
/** Flags and their kind: counts are whole numbers of at least 1, `rate` may be 0 (full speed). */
const FLAGS = { a: 'file', b: 'file', pairs: 'count', seconds: 'count', connections: 'count', rate: 'rate', path: 'path', health: 'path', name: 'name' };

/** argv after the script: flags, then `--`, then the gateway command. Throws CompareUsageError. */
export function parseCompareArgs(argv, cwd = process.cwd()) {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const command = split === -1 ? [] : argv.slice(split + 1);
  const o = { command };
  for (let i = 0; i < own.length; i += 2) {
    const name = own[i].replace(/^--/, '');
    const value = own[i + 1];
    const kind = FLAGS[name];
    if (!own[i].startsWith('--') || !kind) throw new CompareUsageError(`unknown option ${own[i]}`, `the options are ${Object.keys(FLAGS).map((f) => `--${f}`).join(', ')}; the gateway command goes after --`);
    if (value === undefined || value.startsWith('--')) throw new CompareUsageError(`--${name} needs a value`, USAGE);
    if (kind === 'count' || kind === 'rate') {
      const n = Number(value);
      if (!/^\d+$/.test(value) || (kind === 'count' && n < 1)) throw new CompareUsageError(`--${name} must be a whole number${kind === 'count' ? ' of at least 1' : ''}, not ${value}`, `for example --${name} ${kind === 'rate' ? '1000' : '3'}`);
      o[name] = n;
    } else if (kind === 'path') {
      if (!value.startsWith('/')) throw new CompareUsageError(`--${name} must start with /, not ${value}`, `for example --${name} /health`);
      o[name] = value;
    } else if (kind === 'file') {
      if (!existsSync(path.resolve(cwd, value))) throw new CompareUsageError(`--${name}: no such file: ${value}`, `give the path of config ${name.toUpperCase()}`);
      o[name] = value;
    } else {
      if (!/^[\w.-]+$/.test(value)) throw new CompareUsageError(`--name may hold letters, digits, ., _ and - only, not ${value}`, 'it names bench/results/<name>.json');
      o[name] = value;
    }
  }
  if (!o.a || !o.b) throw new CompareUsageError(`--${o.a ? 'b' : 'a'} is missing`, USAGE);
  if (command.length === 0) throw new CompareUsageError(split === -1 ? 'no gateway command (it goes after --)' : 'no gateway command after --', USAGE);
  if (!command.some((part) => part.includes('{config}'))) {
    throw new CompareUsageError('the gateway command has no {config}, so A and B would run the same config', 'put {config} where the config path goes, e.g. -- caddy run --config {config}');
  }
  const program = command[0];
  if (!(program.includes('/') ? existsSync(path.resolve(cwd, program)) : installed(program))) {
    throw new CompareUsageError(`gateway program not found: ${program}`, 'install it, put it on PATH, or give its path after --');
  }
  if (o.rate === 0) delete o.rate;
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  Promise.resolve()
    .then(() => compare(parseCompareArgs(process.argv.slice(2))))
    .then(
      () => process.exit(0),
      (err) => {
        const usage = err instanceof CompareUsageError;
        console.error(`compare: ${usage || err instanceof GatewayStartError ? err.message : (err.stack ?? err)}`);
        process.exit(usage ? 2 : 1);
      },
    );
}
