import http from 'node:http';
import type { Baton } from '../lifecycle/baton.js';
import type { NumberedEvent } from '../observe/event-history.js';
import type { Captured } from '../observe/request-ring.js';
import { send } from './send.js';
import { toHar } from './har.js';
import { bodyJson, parseHead } from '../observe/head-text.js';
import type { Rates } from './rates.js';
import { replay } from './replay.js';

/** An event stream whose client reads slower than this is dropped (it reconnects with Last-Event-ID). */
const MAX_STREAM_BACKLOG = 1024 * 1024;
/** A comment line every so often keeps proxies and browsers from timing an idle stream out. */
const KEEPALIVE_MS = 15_000;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void | Promise<void>;

/** A request's summary in lists: what `GET /api/requests` returns per entry. */
function summary(e: Captured): Record<string, unknown> {
  return {
    id: e.id,
    gen: e.gen ?? null,
    method: e.method,
    target: e.target,
    status: e.status,
    own: e.own,
    ms: Number.isNaN(e.totalMs) ? null : Math.round(e.totalMs * 1000) / 1000,
    ttfbMs: Number.isNaN(e.ttfbMs) ? null : Math.round(e.ttfbMs * 1000) / 1000,
    startedAt: new Date(e.startedAt).toISOString(),
    bytesIn: e.bytesIn,
    bytesOut: e.bytesOut,
    ...(e.replayOf === undefined ? {} : { replayOf: e.replayOf }),
  };
}

/** A request with its heads and bodies: what `GET /api/requests/<id>` returns. */
export function detail(e: Captured): Record<string, unknown> {
  const request = parseHead(e.requestHead);
  const response = parseHead(e.responseHead);
  return {
    ...summary(e),
    request: { line: request.line, headers: request.headers, body: bodyJson(e.requestBody, e.requestBodyTruncated) },
    response: e.responseHead === undefined ? null : { line: response.line, headers: response.headers, body: bodyJson(e.responseBody, e.responseBodyTruncated) },
  };
}

/** `status=` filter: a class (`5xx`), or one status (`404`). */
function statusFilter(value: string | null): (status: number) => boolean {
  if (!value) return () => true;
  const cls = /^([1-5])xx$/i.exec(value);
  if (cls) return (s) => Math.floor(s / 100) === Number(cls[1]);
  const n = Number(value);
  return (s) => s === n;
}

/**
 * The JSON API (docs/api.md). The contract: `/api/status`, `/api/events` (Server-Sent
 * Events, `Last-Event-ID`, `?history=1`), `/api/requests` with filters, one request by
 * id, `/api/requests.har`, a replay, `/api/reload`, `/api/promote`, `/api/abort`,
 * `/api/rollback`, and a generation's diff.
 */
export function apiRoutes(baton: Baton, rates: Rates, version: string): Handler & { close(): void } {
  const streams = new Set<http.ServerResponse>();
  const started = Date.now();
  const { generations, events, requests, unrouted, files } = baton.observed;

  const write = (res: http.ServerResponse, e: NumberedEvent): void => {
    res.write(`id: ${e.id}\ndata: ${JSON.stringify({ time: e.time, ...e.event })}\n\n`);
    if (res.writableLength > MAX_STREAM_BACKLOG) res.destroy();
  };
  const unsubscribe = events.subscribe((e) => {
    for (const res of streams) write(res, e);
  });
  const keepalive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, KEEPALIVE_MS).unref();

  const status: Handler = (_req, res) => {
    const list = generations.list().map((g) => {
      const last = rates.last(g.gen);
      return { ...g, window: last ? { requests: last.requests, errors: last.errors, p99Ms: last.p99Ms } : null };
    });
    send(res, 200, {
      serving: generations.serving,
      generations: list,
      watch: baton.options.watch,
      url: baton.url,
      ...baton.ports,
      command: baton.options.command,
      uptimeMs: Date.now() - started,
      unrouted: { requests: unrouted.requests, statuses: unrouted.statuses, own: unrouted.own },
      inspector: { kept: requests.size, bytes: requests.bytes, capBytes: requests.capBytes, bodyCapBytes: requests.bodyCapBytes },
      experiments: baton.experiments,
    });
  };

  const eventStream: Handler = (req, res, url) => {
    if (url.searchParams.get('history') === '1') return send(res, 200, events.since(0).map((e) => ({ id: e.id, time: e.time, ...e.event })));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 1000\n\n');
    const last = Number(req.headers['last-event-id'] ?? url.searchParams.get('since') ?? 'NaN');
    if (Number.isFinite(last)) for (const e of events.since(last)) write(res, e);
    streams.add(res);
    res.on('close', () => streams.delete(res));
  };

  const list: Handler = (_req, res, url) => {
    const gen = url.searchParams.get('gen');
    const path = url.searchParams.get('path');
    const statusOk = statusFilter(url.searchParams.get('status'));
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 100) || 100, 10_000);
    const keep = (e: Captured): boolean => (gen === null || String(e.gen ?? '') === gen) && statusOk(e.status) && (path === null || e.target.includes(path));
    send(res, 200, requests.list(keep, limit).map(summary));
  };

  const har: Handler = (_req, res) => {
    const body = JSON.stringify(toHar(requests.list().reverse(), baton.url, version));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-disposition': 'attachment; filename="baton.har"', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  };

  const routes: Array<[method: string, pattern: RegExp, handler: (match: RegExpExecArray) => Handler]> = [
    ['GET', /^\/api\/status$/, () => status],
    ['GET', /^\/api\/events$/, () => eventStream],
    ['GET', /^\/api\/metrics$/, () => (_req, res) => send(res, 200, rates.samples)],
    ['GET', /^\/api\/requests$/, () => list],
    ['GET', /^\/api\/requests\.har$/, () => har],
    [
      'GET',
      /^\/api\/requests\/(\d+)$/,
      (m) => (_req, res) => {
        const e = requests.get(Number(m[1]));
        if (!e) return send(res, 404, { error: `no request ${m[1]} is kept (the inspector keeps the most recent ${requests.capBytes / 1024 / 1024} MiB)` });
        send(res, 200, detail(e));
      },
    ],
    [
      'POST',
      /^\/api\/requests\/(\d+)\/replay$/,
      (m) => async (_req, res) => {
        const e = requests.get(Number(m[1]));
        if (!e) return send(res, 404, { error: `no request ${m[1]} is kept` });
        const outcome = await replay(baton, e);
        if ('error' in outcome) return send(res, outcome.status, { error: outcome.error });
        send(res, 200, detail(outcome.captured));
      },
    ],
    [
      'POST',
      /^\/api\/reload$/,
      () => (_req, res) => {
        baton.reload('api');
        send(res, 202, { reloading: true, serving: generations.serving });
      },
    ],
    ...(['promote', 'abort', 'rollback'] as const).map((action): [string, RegExp, (m: RegExpExecArray) => Handler] => [
      'POST',
      new RegExp(`^/api/${action}$`),
      () => (_req, res) => {
        const refused = baton[action]();
        // 409: nothing to act on now (no candidate waiting, nothing kept to roll back to), with why.
        if (refused !== undefined) return send(res, 409, { error: refused });
        send(res, 202, { [action === 'promote' ? 'promoting' : action === 'abort' ? 'aborting' : 'rollingBack']: true, serving: generations.serving });
      },
    ]),
    [
      'GET',
      /^\/api\/generations\/(\d+)\/diff$/,
      (m) => (_req, res) => {
        const f = files.get(Number(m[1]));
        if (!f) return send(res, 404, { error: `no files are kept for generation ${m[1]}` });
        send(res, 200, f);
      },
    ],
    [
      'GET',
      /^\/api\/generations\/(\d+)$/,
      (m) => (_req, res) => {
        const g = generations.get(Number(m[1]));
        if (!g) return send(res, 404, { error: `no generation ${m[1]} is kept` });
        send(res, 200, g);
      },
    ],
  ];

  const handle: Handler = (req, res, url) => {
    let allowed: string | undefined;
    for (const [method, pattern, handler] of routes) {
      const match = pattern.exec(url.pathname);
      if (!match) continue;
      if (method === req.method || (method === 'GET' && req.method === 'HEAD')) return handler(match)(req, res, url);
      allowed = method;
    }
    if (allowed) return send(res, 405, { error: `use ${allowed} for ${url.pathname}` }, { allow: allowed });
    send(res, 404, { error: `no such route: ${url.pathname} (see docs/api.md)` });
  };
  return Object.assign(handle, {
    close: () => {
      unsubscribe();
      clearInterval(keepalive);
      for (const res of streams) res.end();
    },
  });
}
