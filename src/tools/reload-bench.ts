import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';
import type { BatonEvent } from '../events.js';
import { findConfigFile } from '../options.js';
import { GatewayStartError, type ToolIo } from './compare.js';
import { htmlReport } from './html-report.js';
import { KeepAliveLoad, type LoadFailure } from './keep-alive-load.js';
import { machine, type Machine } from './machine.js';
import { writeReport, type ReportFiles } from './report-files.js';
import { fmt, median, table } from './stats.js';
import { chart } from './svg-chart.js';
import { Timeline, type TimelineData } from './timeline.js';

/** How a reload is caused: a save of the gateway's config file, or SIGHUP (as the `r` key). */
export type ReloadTrigger = 'save' | 'signal';

/** What `baton bench reload` is asked to run. */
export interface ReloadBenchOptions {
  /** The gateway command, as after `baton --`. */
  command: readonly string[];
  /** Reloads under load. @default 5 */
  reloads?: number;
  /** Keep-alive clients, back to back. @default 16 */
  clients?: number;
  /** Quiet time between one reload's serving and the next reload. @default 1000 */
  gapMs?: number;
  /** The path loaded. @default '/' */
  path?: string;
  /**
   * `save`: rewrite the config file the command names (`-c`/`--config`) with a trailing
   * newline toggled, and put its bytes back at the end; `signal`: SIGHUP. @default save
   * when the command names a config file, else signal
   */
  trigger?: ReloadTrigger;
  /** Flags for the baton under test, before `--` (`--health /__health`, `--debounce 50`). */
  batonArgs?: readonly string[];
  cwd?: string;
  /** Folder for reload-bench.md, .json, .svg and .html; none written when undefined. */
  out?: string;
}

export interface ReloadRow {
  reload: number;
  gen: number | undefined;
  /** Save (or SIGHUP) to baton's `serving` of the new generation, ms. */
  toServeMs: number;
  /** The new instance's spawn to healthy (`starting` → `serving`), ms: the gateway's own start, health-poll lag included. */
  gatewayStartMs: number;
  /** Requests the gateway never answered, from this reload to the next. */
  failed: number;
  causes: Record<string, number>;
  /** Rejected instead of served: the reason. */
  rejected?: string;
}

export interface ReloadBenchResult {
  machine: Machine;
  options: { command: string[]; reloads: number; clients: number; gapMs: number; path: string; trigger: ReloadTrigger; batonArgs: string[] };
  answered: number;
  failed: number;
  failedPerReload: number;
  medianToServeMs: number;
  medianGatewayStartMs: number;
  rows: ReloadRow[];
  timeline: TimelineData;
  markdown: string;
  files: ReportFiles | undefined;
}

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

type Stamped = BatonEvent & { at: number };
type Outcome = Extract<BatonEvent, { type: 'serving' | 'rejected' }> & { at: number };
/** A generation served, or was rejected: the end of a reload. */
const isOutcome = (e: Stamped): e is Outcome => e.type === 'serving' || e.type === 'rejected';

/** The baton under test, a child process of its own, its events stamped as they arrive. */
class BatonUnderTest {
  readonly child: ChildProcess;
  readonly events: Stamped[] = [];
  #wake = new Set<() => void>();
  #stderr = '';

  constructor(args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [CLI, '--json', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const at = performance.now();
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line.startsWith('{')) this.events.push({ ...(JSON.parse(line) as BatonEvent), at });
      for (const wake of this.#wake) wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr = (this.#stderr + chunk).slice(-4000)));
    this.child.once('exit', () => {
      for (const wake of this.#wake) wake();
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The first event from index `from` on that matches, or undefined after `timeoutMs` or baton's exit. */
  next<T extends Stamped>(match: (e: Stamped) => e is T, from: number, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const check = (): void => {
        const found = this.events.slice(from).find(match) as T | undefined;
        if (found || this.child.exitCode !== null) done(found);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const done = (found: T | undefined): void => {
        clearTimeout(timer);
        this.#wake.delete(check);
        resolve(found);
      };
      this.#wake.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 40_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The config file a reload by save rewrites, with its bytes put back at the end. */
class ToggledFile {
  readonly file: string;
  readonly #original: Buffer;
  #changed = false;

  constructor(file: string) {
    this.file = file;
    this.#original = readFileSync(file);
  }

  /** A save that changes the bytes and not what they mean: a trailing newline, added or taken away again. */
  save(): void {
    this.#changed = !this.#changed;
    writeFileSync(this.file, this.#changed ? Buffer.concat([this.#original, Buffer.from('\n')]) : this.#original);
  }

  restore(): void {
    if (this.#changed) writeFileSync(this.file, this.#original);
    this.#changed = false;
  }
}

/**
 * The reload experiment on the user's own gateway: baton in front of it, steady
 * keep-alive load, and `reloads` reloads, each caused by a save of its config (or
 * SIGHUP). For each reload it reports the requests the gateway never answered and the
 * time from the save to the new generation serving.
 */
export async function reloadBench(options: ReloadBenchOptions, io: ToolIo): Promise<ReloadBenchResult> {
  const cwd = options.cwd ?? process.cwd();
  const config = findConfigFile(options.command);
  const trigger: ReloadTrigger = options.trigger ?? (config ? 'save' : 'signal');
  const o = { reloads: 5, clients: 16, gapMs: 1000, path: '/', batonArgs: [], ...options, trigger };
  const facts = machine();
  const toggled = trigger === 'save' ? new ToggledFile(path.resolve(cwd, config!)) : undefined;
  const port = await getPort({ host: '127.0.0.1' });
  io.log(`## baton bench reload: ${o.reloads} reloads by ${trigger === 'save' ? `saving ${path.relative(cwd, toggled!.file) || toggled!.file}` : 'SIGHUP'}, ${o.clients} keep-alive clients on GET ${o.path}\n\ngateway: ${o.command.join(' ')} · ${facts.line}\n`);
  const baton = new BatonUnderTest(['-p', String(port), ...o.batonArgs, '--', ...o.command], cwd);
  let load: KeepAliveLoad | undefined;
  // Ctrl-C: the config gets its bytes back and the baton under test stops its gateway.
  const interrupt = (): never => {
    toggled?.restore();
    baton.child.kill('SIGTERM');
    process.exit(130);
  };
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  try {
    io.progress?.update(0, 'starting the gateway behind baton');
    const first = await baton.next(isOutcome, 0, 60_000);
    if (first?.type !== 'serving') {
      const why = first?.type === 'rejected' ? `${first.reason}${first.output.length ? `\n${first.output.slice(-8).map((l) => `  ${l}`).join('\n')}` : ''}` : baton.child.exitCode !== null ? `baton exited (${baton.child.exitCode}): ${baton.stderr.trim()}` : 'no generation served within 60 s';
      throw new GatewayStartError(`the gateway never served behind baton: ${why}`);
    }
    const timeline = new Timeline();
    load = new KeepAliveLoad(`http://127.0.0.1:${port}${o.path}`, o.clients, timeline);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const rows: ReloadRow[] = [];
    const at: number[] = [];
    for (let i = 1; i <= o.reloads; i++) {
      io.progress?.update(i - 1, `reload ${i}: ${load.answered.toLocaleString('en-US')} answered, ${load.failures.length} failed so far`);
      const from = baton.events.length;
      const t = performance.now();
      at.push(t);
      timeline.mark(`reload ${i}`, t);
      if (toggled) toggled.save();
      else baton.child.kill('SIGHUP');
      const outcome = await baton.next(isOutcome, from, 60_000);
      const starting = outcome && baton.events.slice(from).find((e) => e.type === 'starting' && e.gen === outcome.gen);
      rows.push({
        reload: i,
        gen: outcome?.gen,
        toServeMs: outcome?.type === 'serving' ? outcome.at - t : Number.NaN,
        gatewayStartMs: outcome?.type === 'serving' && starting ? outcome.at - starting.at : Number.NaN,
        failed: 0,
        causes: {},
        ...(outcome?.type === 'rejected' ? { rejected: outcome.reason } : outcome ? {} : { rejected: 'no generation served within 60 s' }),
      });
      await new Promise((resolve) => setTimeout(resolve, o.gapMs));
    }
    io.progress?.update(o.reloads, 'stopping');
    const end = performance.now();
    timeline.endAt(end);
    await load.stop();
    io.progress?.clear();
    attribute(load.failures, at, end, rows);

    const answered = load.answered;
    const failed = load.failures.length;
    const header = ['reload', 'gen', 'save → serving (ms)', 'gateway start → healthy (ms)', 'failed requests', 'causes'];
    const tableRows = rows.map((r) => [r.reload, r.gen ?? '—', r.rejected ? `rejected: ${r.rejected.slice(0, 80)}` : fmt(r.toServeMs), fmt(r.gatewayStartMs), r.failed, Object.entries(r.causes).map(([c, n]) => `${c} ${n}`).join(', ') || '—']);
    const served = rows.filter((r) => !r.rejected);
    const summaryHeader = ['answered', 'failed', 'failed per reload', 'median save → serving (ms)', 'median gateway start (ms)'];
    const summaryRows = [[fmt(answered), failed, fmt(failed / o.reloads, 1), fmt(median(served.map((r) => r.toServeMs))), fmt(median(served.map((r) => r.gatewayStartMs)))]];
    const markdown = `${table(header, tableRows)}\n\n${table(summaryHeader, summaryRows)}\n`;
    io.log(markdown);
    const title = `baton bench reload: ${o.command.join(' ')}`;
    const svg = chart(title, [{ title: `${failed} failed of ${fmt(answered + failed)} requests across ${o.reloads} reloads`, timeline: timeline.toJSON() }], 'blue: answers per second (left axis) · red: failed requests per 100 ms (right axis) · dashed: reloads');
    const result: ReloadBenchResult = {
      machine: facts,
      options: { command: [...o.command], reloads: o.reloads, clients: o.clients, gapMs: o.gapMs, path: o.path, trigger, batonArgs: [...o.batonArgs] },
      answered,
      failed,
      failedPerReload: failed / o.reloads,
      medianToServeMs: median(served.map((r) => r.toServeMs)),
      medianGatewayStartMs: median(served.map((r) => r.gatewayStartMs)),
      rows,
      timeline: timeline.toJSON(),
      markdown,
      files: undefined,
    };
    if (o.out) {
      const html = htmlReport(title, [
        { kind: 'text', text: `${o.reloads} reloads by ${trigger === 'save' ? 'saving the config' : 'SIGHUP'}, ${o.clients} keep-alive clients on GET ${o.path}; ${facts.line}` },
        { kind: 'heading', text: 'Summary' },
        { kind: 'table', header: summaryHeader, rows: summaryRows },
        { kind: 'heading', text: 'Each reload' },
        { kind: 'table', header, rows: tableRows },
        { kind: 'svg', svg },
      ]);
      result.files = writeReport(o.out, 'reload-bench', { markdown: `# ${title}\n\n${markdown}`, json: { ...result, markdown: undefined, files: undefined }, svg, html });
      io.log(`wrote ${Object.values(result.files).join(', ')}`);
    }
    return result;
  } finally {
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    io.progress?.clear();
    if (load) await load.stop();
    toggled?.restore();
    await baton.stop();
  }
}

/** Each failure belongs to the reload before it (from its trigger to the next one's, or the end). */
function attribute(failures: readonly LoadFailure[], at: readonly number[], end: number, rows: ReloadRow[]): void {
  for (const failure of failures) {
    let i = at.findLastIndex((t) => t <= failure.at);
    if (i === -1) i = 0;
    if (failure.at > end) continue;
    const row = rows[i]!;
    row.failed++;
    row.causes[failure.cause] = (row.causes[failure.cause] ?? 0) + 1;
  }
}
