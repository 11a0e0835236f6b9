import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import { BatonError } from '../errors.js';
import { cannon, type CannonResult } from './cannon.js';
import { htmlReport } from './html-report.js';
import { machine, type Machine } from './machine.js';
import { answersBelow500, cpuMs, startProcess, stopProcess, type Started } from './processes.js';
import { Progress } from './progress.js';
import { writeReport, type ReportFiles } from './report-files.js';
import { fmt, maxOf, mean, minOf, stddev, table } from './stats.js';
import { chart } from './svg-chart.js';
import { Timeline, type TimelineData } from './timeline.js';

/** What `baton compare` is asked to run. */
export interface CompareOptions {
  /** Config files A and B. */
  a: string;
  b: string;
  /** The gateway command; `{config}` is replaced by A's or B's path, `{port}` by its port. */
  command: readonly string[];
  /** ABBA pairs of rounds. @default 3 */
  pairs?: number;
  /** Seconds per round. @default 5 */
  seconds?: number;
  /** Keep-alive connections of the load. @default 32 */
  connections?: number;
  /** A fixed total request rate (req/s) instead of full speed. */
  rate?: number;
  /** The path loaded. @default '/' */
  path?: string;
  /** The path a gateway must answer below 500 before it is loaded. @default the loaded path */
  health?: string;
  /** Folder the gateways run in; relative config paths resolve against it. @default process.cwd() */
  cwd?: string;
  /** Folder for compare.md, .json, .svg and .html; none written when undefined. */
  out?: string;
}

/** Where a run's lines go. */
export interface ToolIo {
  /** Results (stdout). */
  log(text: string): void;
  /** Warnings (stderr). */
  warn(text: string): void;
  progress?: Progress;
}

export interface CompareRound extends Omit<CannonResult, 'max' | 'latencies'> {
  side: 'a' | 'b';
  pair: number;
  /** The gateway's CPU per request, µs (NaN where /proc is missing). */
  cpuUsPerReq: number;
}

export interface CompareResult {
  machine: Machine;
  options: Required<Omit<CompareOptions, 'rate' | 'out' | 'cwd'>> & { rate: number | undefined };
  summary: {
    a: { rps: number; p99: number; cpuUsPerReq: number };
    b: { rps: number; p99: number; cpuUsPerReq: number };
    /** B's throughput over A's, the mean of the per-pair ratios. */
    ratio: number;
    ratioMin: number;
    ratioMax: number;
    /** Spread of the per-pair ratios; NaN with fewer than two pairs. */
    ratioStddev: number;
    p99Ratio: number;
    errors: number;
  };
  rounds: CompareRound[];
  timeline: TimelineData;
  /** The markdown the run printed. */
  markdown: string;
  files: ReportFiles | undefined;
}

/** A gateway that would not start: one line with the reason, then its last output lines (E_GATEWAY_START, exit code 1). */
export class GatewayStartError extends BatonError {
  constructor(message: string) {
    super('E_GATEWAY_START', message, '');
  }
}

async function startGateway(command: readonly string[], config: string, cwd: string, tmp: string, health: string, side: 'a' | 'b'): Promise<{ started: Started; port: number }> {
  const port = await getPort({ host: '127.0.0.1' });
  const [cmd, ...args] = command.map((part) => part.replaceAll('{config}', path.resolve(cwd, config)).replaceAll('{port}', String(port)));
  // Caddy and others keep state under XDG folders: each side gets its own, removed afterwards.
  const dir = path.join(tmp, side);
  const env = { ...process.env, PORT: String(port), BENCH_TMP: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data') };
  const started = startProcess(cmd!, args, { env, cwd });
  if (!(await answersBelow500(port, health, started, 30_000))) {
    const exited = !started.alive;
    const exit = exited ? await started.exited : undefined;
    await stopProcess(started);
    const tail = started.output().trim().split('\n').slice(-8).map((line) => `  ${line}`).join('\n');
    const what = exited ? `the gateway exited (${exit?.code ?? exit?.signal ?? 'could not start'}) before answering GET ${health}` : `the gateway did not answer GET ${health} below 500 on 127.0.0.1:${port} within 30 s`;
    throw new GatewayStartError(`config ${side.toUpperCase()} (${config}): ${what} — check the command and the config; it printed:\n${tail || '  (nothing)'}`);
  }
  return { started, port };
}

/**
 * Compares two configs of one gateway under identical load. Both run at once, each on a
 * free port; rounds alternate in ABBA order (A B, B A, A B, …) so steady and linear
 * drift of a shared machine cancels, and the result is the per-pair ratio B/A with its
 * spread. The load is autocannon (keep-alive connections, full speed or a fixed rate).
 */
export async function compare(options: CompareOptions, io: ToolIo): Promise<CompareResult> {
  const o = { pairs: 3, seconds: 5, connections: 32, path: '/', ...options, cwd: options.cwd ?? process.cwd() };
  const health = o.health ?? o.path;
  const facts = machine();
  if (o.pairs < 3) {
    io.warn(`warning: --pairs ${o.pairs} gives ${o.pairs === 1 ? 'one ratio and no spread' : 'a spread from two ratios only'}: a shared machine drifts by several percent between rounds, so use --pairs 3 or more before trusting a difference`);
  }
  io.log(`## compare: ${path.basename(o.a)} (A) vs ${path.basename(o.b)} (B)\n\n${o.pairs} ABBA pairs of ${o.seconds} s rounds, ${o.connections} keep-alive connections${o.rate ? ` at ${o.rate} req/s` : ' at full speed'}, GET ${o.path}, load by autocannon · ${facts.line}\n`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-compare-'));
  const gateways: Partial<Record<'a' | 'b', { started: Started; port: number }>> = {};
  try {
    for (const side of ['a', 'b'] as const) gateways[side] = await startGateway(o.command, o[side], o.cwd, tmp, health, side);
    const url = (side: 'a' | 'b'): string => `http://127.0.0.1:${gateways[side]!.port}${o.path}`;
    for (const side of ['a', 'b'] as const) await cannon({ url: url(side), connections: o.connections, seconds: 1 }); // warm-up
    const timeline = new Timeline();
    const rounds: CompareRound[] = [];
    const total = o.pairs * 2;
    for (let pair = 0; pair < o.pairs; pair++) {
      for (const side of pair % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
        io.progress?.update(rounds.length, `pair ${pair + 1}, config ${side.toUpperCase()}${rounds.length > 0 ? ` · last round ${fmt(rounds[rounds.length - 1]!.rps)} req/s` : ''}`);
        timeline.mark(side.toUpperCase());
        const pid = gateways[side]!.started.pid;
        const cpu0 = cpuMs(pid);
        const { max: _max, latencies: _latencies, ...r } = await cannon({ url: url(side), connections: o.connections, seconds: o.seconds, rate: o.rate, timeline });
        rounds.push({ side, pair, ...r, cpuUsPerReq: ((cpuMs(pid) - cpu0) * 1000) / r.requests });
      }
    }
    io.progress?.update(total, 'done');
    io.progress?.clear();
    timeline.endAt(performance.now());

    const of = (side: 'a' | 'b'): CompareRound[] => rounds.filter((r) => r.side === side);
    const ratios = of('b').map((b, i) => b.rps / of('a')[i]!.rps);
    const p99Ratios = of('b').map((b, i) => b.p99 / of('a')[i]!.p99);
    const side = (s: 'a' | 'b'): { rps: number; p99: number; cpuUsPerReq: number } => ({ rps: mean(of(s).map((r) => r.rps)), p99: mean(of(s).map((r) => r.p99)), cpuUsPerReq: mean(of(s).map((r) => r.cpuUsPerReq)) });
    const summary: CompareResult['summary'] = {
      a: side('a'),
      b: side('b'),
      ratio: mean(ratios),
      ratioMin: minOf(ratios),
      ratioMax: maxOf(ratios),
      ratioStddev: ratios.length < 2 ? Number.NaN : stddev(ratios),
      p99Ratio: mean(p99Ratios),
      errors: rounds.reduce((a, r) => a + r.errors + r.non2xx, 0),
    };
    const roundsHeader = ['pair', 'config', 'req/s', 'p50 (ms)', 'p99 (ms)', 'gateway CPU µs/req', 'errors'];
    const roundsRows = rounds.map((r) => [r.pair + 1, r.side.toUpperCase(), fmt(r.rps), fmt(r.p50, 3), fmt(r.p99, 3), fmt(r.cpuUsPerReq, 1), r.errors + r.non2xx]);
    const summaryHeader = ['A req/s', 'B req/s', 'B/A throughput (mean)', 'per-pair min–max', 'spread (stddev)', 'B/A p99', 'A CPU µs/req', 'B CPU µs/req', 'errors'];
    const summaryRows = [[fmt(summary.a.rps), fmt(summary.b.rps), `${fmt(summary.ratio * 100, 1)} %`, `${fmt(summary.ratioMin * 100, 1)}–${fmt(summary.ratioMax * 100, 1)} %`, Number.isNaN(summary.ratioStddev) ? '— (one pair)' : `${fmt(summary.ratioStddev * 100, 1)} pt`, `${fmt(summary.p99Ratio * 100, 1)} %`, fmt(summary.a.cpuUsPerReq, 1), fmt(summary.b.cpuUsPerReq, 1), summary.errors]];
    const markdown = `${table(roundsHeader, roundsRows)}\n\n${table(summaryHeader, summaryRows)}\n`;
    io.log(markdown);

    const title = `compare: A = ${path.basename(o.a)}, B = ${path.basename(o.b)}`;
    const svg = chart(title, [{ title: `B/A throughput ${fmt(summary.ratio * 100, 1)} % (pairs ${fmt(summary.ratioMin * 100, 1)}–${fmt(summary.ratioMax * 100, 1)} %)`, timeline: timeline.toJSON() }], 'blue: answers per second (left axis) · red: failed requests per 100 ms (right axis) · dashed: round starts (A or B)');
    const shown = { a: o.a, b: o.b, command: [...o.command], pairs: o.pairs, seconds: o.seconds, connections: o.connections, path: o.path, health, rate: o.rate };
    const result: CompareResult = { machine: facts, options: shown, summary, rounds, timeline: timeline.toJSON(), markdown, files: undefined };
    if (o.out) {
      const html = htmlReport(title, [
        { kind: 'text', text: `${o.pairs} ABBA pairs of ${o.seconds} s rounds, ${o.connections} keep-alive connections${o.rate ? ` at ${o.rate} req/s` : ' at full speed'}, GET ${o.path}; gateway: ${o.command.join(' ')}; ${facts.line}` },
        { kind: 'heading', text: 'Summary' },
        { kind: 'table', header: summaryHeader, rows: summaryRows },
        { kind: 'heading', text: 'Rounds' },
        { kind: 'table', header: roundsHeader, rows: roundsRows },
        { kind: 'svg', svg },
      ]);
      result.files = writeReport(o.out, 'compare', { markdown: `# ${title}\n\n${markdown}`, json: { ...result, markdown: undefined, files: undefined }, svg, html });
      io.log(`wrote ${Object.values(result.files).join(', ')}`);
    }
    return result;
  } finally {
    io.progress?.clear();
    await Promise.allSettled(Object.values(gateways).map((g) => stopProcess(g.started)));
    rmSync(tmp, { recursive: true, force: true });
  }
}
