import path from 'node:path';
import { describeDifference } from '../lifecycle/experiments/compare.js';
import { createColors } from 'picocolors';
import type { BatonEvent } from '../events.js';

/** What of the gateway's own output is shown: every line, its errors (stderr, and lines that say error, fatal, panic or warn), or none. */
export type GatewayOutput = 'all' | 'errors' | 'none';
export const GATEWAY_OUTPUT_CHOICES: readonly GatewayOutput[] = ['all', 'errors', 'none'];

const LOOKS_BAD = /\b(error|fatal|panic|warn(ing)?)\b/i;

export interface ReporterOptions {
  /** One JSON object per line instead of human lines. */
  json: boolean;
  /** Only errors. */
  quiet: boolean;
  /** Folder paths are shown relative to. */
  cwd: string;
  /** Where ordinary lines go. @default process.stdout */
  out?: NodeJS.WritableStream;
  /** Where error lines go. @default process.stderr */
  err?: NodeJS.WritableStream;
  /** Colour human lines (never JSON): rejections red, warnings yellow, the gateway's own lines dimmed. @default false */
  color?: boolean;
  /** @default 'all' */
  gatewayOutput?: GatewayOutput;
}

/** Events a person must see even with --quiet. */
const ERROR_EVENTS = new Set<BatonEvent['type']>(['rejected', 'crashed', 'warning', 'rolled-back']);
/** How many of a failed gateway's last lines are repeated under its rejection. */
const SHOWN_LINES = 8;

const RELOAD_SOURCES = { signal: 'SIGHUP', key: 'r key', api: 'API', config: 'the gateway command changed in the config file' } as const;

/** Turns events into lines for people (or JSON for programs). */
export function createReporter(options: ReporterOptions): (event: BatonEvent) => void {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const c = createColors(options.color === true);
  const shownOutput = options.gatewayOutput ?? 'all';
  return (event) => {
    const isError = ERROR_EVENTS.has(event.type);
    if (options.quiet && !isError) return;
    if (event.type === 'output' && (shownOutput === 'none' || (shownOutput === 'errors' && event.stream !== 'stderr' && !LOOKS_BAD.test(event.line)))) return;
    if (options.json) {
      out.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
      return;
    }
    const text = formatEvent(event, options.cwd);
    if (text === undefined) return;
    (isError ? err : out).write(`${paint(event, text, c)}\n`);
  };
}

/** Colours for a terminal: what failed stands out, the gateway's own lines step back. */
function paint(event: BatonEvent, text: string, c: ReturnType<typeof createColors>): string {
  if (!c.isColorSupported) return text;
  const marked = text.replace(/^baton {2}/gm, `${c.bold(c.cyan('baton'))}  `);
  switch (event.type) {
    case 'output':
      return c.dim(text);
    case 'rejected':
    case 'crashed':
      return marked.replace(/^(.*?)(\n|$)/, (_, line: string, rest: string) => `${c.red(c.bold(line))}${rest}`).replace(/^( {2}│ .*)$/gm, (l) => c.red(l));
    case 'warning':
    case 'killed':
    case 'rolled-back':
      return c.yellow(marked);
    case 'serving':
      return marked.replace(/— serving$/, c.green('— serving'));
    case 'listening':
      return marked.replace(/(https?:\/\/\S+)/g, (u) => c.underline(u));
    default:
      return marked;
  }
}

/** What the HTTPS line says of where its certificate came from. */
const TLS_FROM = {
  flags: '',
  preset: " (the gateway's own; --tls off serves plain HTTP)",
  'self-signed': ' (self-signed for localhost: trust it, e.g. curl --cacert it, or add it to your trust store)',
} as const;

/** The human line(s) for one event; undefined for events with nothing to say. */
export function formatEvent(event: BatonEvent, cwd: string): string | undefined {
  switch (event.type) {
    case 'listening':
      return [
        `baton  listening on ${event.url} → ${event.command.join(' ')}`,
        ...(event.tls ? [`baton  HTTPS and HTTP/2 with ${shortPath(event.tls.certificate, cwd)}${TLS_FROM[event.tls.from]}`] : []),
        ...(event.sidePorts ?? []).map((side) => `baton  side port ${side.name} on ${side.url} → each generation's {port:${side.name}}`),
        `baton  watching ${event.watch.map((p) => shortPath(p, cwd)).join(', ')}: save a change there to reload`,
        ...(event.admin ? [`baton  dashboard ${event.admin} · r reloads · Ctrl-C stops`] : ['baton  r reloads · Ctrl-C stops']),
      ].join('\n');
    case 'preset':
      return `baton  ${event.name} preset: ${event.applied.length > 0 ? event.applied.join('; ') : 'nothing to add'} (--preset none turns it off)`;
    case 'change':
      return `baton  changed: ${event.files.map((p) => shortPath(p, cwd)).join(', ')}`;
    case 'reload':
      return `baton  reload requested (${RELOAD_SOURCES[event.source]})`;
    case 'settings':
      return `baton  ${shortPath(event.file, cwd)} changed: applied ${event.applied.join(', ')} (timeouts and debounce at once, the rest from the next generation)`;
    case 'starting': {
      const files = (event.changes ?? []).map((c) => `${c.file}: ${c.status === 'added' ? 'new, ' : c.status === 'removed' ? 'deleted, ' : ''}+${c.added} −${c.removed} lines`);
      const e = event.endpoints;
      const endpoints = e && e.added.length + e.removed.length + e.changed.length > 0 ? [`endpoints ${[...e.added.map((x) => `+${x}`), ...e.removed.map((x) => `−${x}`), ...e.changed.map((x) => `~${x}`)].join(', ')}`] : [];
      const what = [...files, ...endpoints];
      return `baton  gen ${event.gen} starting on :${event.port} (${event.reason})${what.length > 0 ? ` — ${what.join('; ')}` : ''}`;
    }
    case 'output':
      return `[gen ${event.gen}] ${event.line}`;
    case 'port-clash':
      return `baton  gen ${event.gen} lost port :${event.port} to another process — retrying on another port`;
    case 'serving':
      return `baton  gen ${event.gen} healthy in ${event.ms} ms${event.tls ? ' (TLS)' : ''} — serving`;
    case 'rejected': {
      const keeps = event.serving === undefined ? 'nothing is serving: requests get 503 until a good save' : `gen ${event.serving} keeps serving`;
      return `baton  gen ${event.gen} rejected: ${event.reason} — ${keeps}${indent(event.output)}`;
    }
    case 'abandoned':
      return `baton  gen ${event.gen} abandoned: superseded by newer files or a reload before it was promoted`;
    case 'draining':
      return `baton  gen ${event.gen} draining (${event.inflight} in flight)${event.keptMs ? `, kept ${formatKept(event.keptMs)} for a rollback (b)` : ''}`;
    case 'stopped': {
      const drain = event.drainTimedOut ? `; --drain-timeout passed: ${describeCut(event.cut)}` : '';
      const forced = event.forced ? '; ignored SIGTERM, killed after --stop-timeout' : '';
      const s = event.served;
      const served = s ? ` — served ${s.requests.toLocaleString('en-US')} request${s.requests === 1 ? '' : 's'}, ${s.statuses['5xx'].toLocaleString('en-US')} 5xx${s.p99Ms === null ? '' : `, p99 ${formatMs(s.p99Ms)}`}` : '';
      return `baton  gen ${event.gen} stopped after ${event.ms} ms${served}${drain}${forced}`;
    }
    case 'preview':
      return `baton  gen ${event.gen} is healthy and reachable before its promotion${event.url ? ` — try it on ${event.url}` : ''}, or with ${event.header} on any port`;
    case 'verified': {
      const what = event.source === 'mirror' ? 'mirrored' : 'replayed';
      const verdict = event.passed === false ? ' — rejected by --verify gate' : event.passed === true ? ' — passes --verify gate' : '';
      if (event.compared === 0 && event.failed.length === 0) {
        const why = event.source === 'mirror' ? 'no safe request arrived during --mirror' : 'the inspector kept no safe request without a body (send traffic first; --record must be above 0)';
        return `baton  gen ${event.gen}: no ${what} request to compare — ${why}${verdict}`;
      }
      if (event.differing.length === 0) return `baton  gen ${event.gen}: ${event.compared} ${what} requests answer as the serving generation does${event.failed.length > 0 ? ` (${event.failed.length} got no answer)` : ''}${verdict}`;
      const shown = event.differing.slice(0, 5).map(describeDifference).join(', ');
      return `baton  gen ${event.gen}: ${event.differing.length} of ${event.compared} ${what} requests answer differently: ${shown}${event.differing.length > 5 ? ', …' : ''}${verdict}`;
    }
    case 'canary':
      return `baton  gen ${event.gen} canary step ${event.step}/${event.steps}: ${event.weight} % of new requests`;
    case 'analysis': {
      const who = event.phase === 'guard' ? 'guard' : `canary step ${event.step}`;
      const n = (w: { requests: number; successRate: number | null; p99Ms: number | null }): string => `${w.requests} req, ${w.successRate ?? '—'} % ok, p99 ${w.p99Ms === null ? '—' : formatMs(w.p99Ms)}`;
      if (event.inconclusive) return `baton  gen ${event.gen} ${who}: no requests reached it in the interval — passes, unjudged`;
      const total = event.candidate.requests + event.baseline.requests;
      const share = event.phase === 'canary' && total > 0 ? `; it got ${Math.round((event.candidate.requests / total) * 1000) / 10} % of requests` : '';
      return `baton  gen ${event.gen} ${who} ${event.passed ? 'passed' : `failed: ${event.reason}`} (${n(event.candidate)}; baseline ${n(event.baseline)}${share})`;
    }
    case 'rolled-back':
      return `baton  gen ${event.gen} rolled back (${event.reason}) — gen ${event.serving} serves again`;
    case 'crashed': {
      const next = event.restartInMs === undefined ? 'gave up restarting; save a change to try again' : `restarting in ${event.restartInMs} ms, requests are held`;
      return `baton  gen ${event.gen} crashed: ${event.reason} — ${next}${indent(event.output)}`;
    }
    case 'shutdown':
      return `baton  shutting down${event.signal ? ` (${event.signal})` : ''}: finishing in-flight requests — send it again to stop at once`;
    case 'killed': {
      if (event.processes.length === 0) return 'baton  stopped at once: no gateway was running';
      const killed = event.processes.map((p) => `gen ${p.gen}${p.pid === undefined ? '' : ` (pid ${p.pid})`}`);
      const list = killed.length === 1 ? killed[0]! : `${killed.slice(0, -1).join(', ')} and ${killed[killed.length - 1]!}`;
      return `baton  stopped at once: killed ${list} with ${killed.length === 1 ? 'its process group' : 'their process groups'}`;
    }
    case 'closed':
      return 'baton  stopped';
    case 'warning':
      return `baton  warning: ${event.message}`;
  }
}

/** A duration for people: 0.42 ms, 4.1 ms, 312 ms, 1.5 s. */
function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A --keep-previous window: whole seconds when it is some, else ms. */
function formatKept(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

function describeCut(cut: { streams: number; requests: number; websockets: number }): string {
  const parts = [
    cut.streams > 0 ? `${cut.streams} stream${cut.streams === 1 ? '' : 's'} ended` : '',
    cut.websockets > 0 ? `${cut.websockets} WebSocket${cut.websockets === 1 ? '' : 's'} closed` : '',
    cut.requests > 0 ? `${cut.requests} request${cut.requests === 1 ? '' : 's'} cut` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'nothing was left';
}

function indent(lines: readonly string[]): string {
  return lines.slice(-SHOWN_LINES).map((line) => `\n  │ ${line}`).join('');
}

function shortPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative === '' ? '.' : relative.startsWith('..') ? file : relative;
}
