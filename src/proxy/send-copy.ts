import http from 'node:http';
import { lazy } from '../lazy-builtins.js';
import { parseHead } from '../observe/head-text.js';
import { isRefusal, judgeRequest, type Judged } from './edge/request-rules.js';
import { headerObject } from './hop-headers.js';
import { tlsConnectOptions, type UpstreamTls } from './upstream-tls.js';

/** Where a copy goes: a generation's instance, in TLS when it listens in TLS. */
export interface CopyTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: UpstreamTls | undefined;
}

/** A gateway's answer to a copy: status, fields (names lower case, repeated ones joined) and body. */
export interface CopyAnswer {
  status: number;
  headers: Record<string, string>;
  /** The status line and field lines, as the inspector keeps heads. */
  head: string;
  body: Buffer;
  /** The body was longer than the cap and is cut. */
  truncated: boolean;
  ttfbMs: number;
  totalMs: number;
}

/** A request head kept as text (the inspector's), judged by the edge as it was when it came in; undefined when the edge refuses it. */
export function judgeKept(method: string, target: string, requestHead: string, localAuthority: string): Judged | undefined {
  const head = parseHead(requestHead);
  const version = /HTTP\/(\d\.\d)$/.exec(head.line)?.[1] ?? '1.1';
  const judged = judgeRequest({ method, target, version, fields: head.headers.flat(), remoteAddress: '127.0.0.1', localAuthority });
  return isRefusal(judged) ? undefined : judged;
}

/**
 * Sends one judged request straight to an instance (not through the data path, so it is
 * never counted as client traffic) and reads its answer, the body up to `bodyCap` bytes.
 * `extra` fields are added (`x-baton-mirror`). Rejects on a network error, when the whole
 * exchange takes longer than `timeoutMs` (an endless stream included), or when `signal`
 * aborts (the socket is closed at once).
 */
export function sendCopy(target: CopyTarget, judged: Judged, body: Buffer | undefined, options: { bodyCap: number; timeoutMs?: number; extra?: readonly string[]; signal?: AbortSignal }): Promise<CopyAnswer> {
  const started = performance.now();
  const limitMs = options.timeoutMs ?? 30_000;
  let settle: (() => void) | undefined;
  return new Promise<CopyAnswer>((resolve, reject) => {
    const fields = options.extra ? [...judged.fields, ...options.extra] : judged.fields;
    const request = { host: target.host, port: target.port, method: judged.method, path: judged.target, headers: headerObject(fields), setHost: false, agent: false as const, timeout: options.timeoutMs ?? 30_000 };
    const onResponse = (res: http.IncomingMessage): void => {
      const ttfbMs = performance.now() - started;
      const parts: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (chunk: Buffer) => {
        if (size >= options.bodyCap) return void (truncated = true);
        const part = size + chunk.length > options.bodyCap ? chunk.subarray(0, options.bodyCap - size) : chunk;
        truncated ||= part !== chunk;
        parts.push(part);
        size += part.length;
      });
      res.on('end', () => {
        const headers: Record<string, string> = {};
        let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          headers[name] = headers[name] === undefined ? res.rawHeaders[i + 1]! : `${headers[name]}, ${res.rawHeaders[i + 1]!}`;
          head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
        }
        resolve({ status: res.statusCode ?? 0, headers, head, body: Buffer.concat(parts, size), truncated, ttfbMs, totalMs: performance.now() - started });
      });
      res.on('error', reject);
      // Destroyed mid-body (the deadline, an abort): the answer is not whole.
      res.on('aborted', () => reject(Object.assign(new Error('the answer was cut'), { code: 'cut' })));
    };
    const req = target.tls ? lazy.https.request({ ...request, ...tlsConnectOptions(target.tls, judged.host) }, onResponse) : http.request(request, onResponse);
    // A request without a body goes without one (no Transfer-Encoding of node:http's own).
    if (judged.body === 'none') req.useChunkedEncodingByDefault = false;
    const timedOut = (): void => void req.destroy(Object.assign(new Error(`no answer within ${limitMs} ms`), { code: 'timeout' }));
    req.on('timeout', timedOut);
    const deadline = setTimeout(timedOut, limitMs);
    const aborted = (): void => void req.destroy(Object.assign(new Error('stopped'), { code: 'aborted' }));
    if (options.signal?.aborted) aborted();
    options.signal?.addEventListener('abort', aborted, { once: true });
    settle = () => {
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', aborted);
    };
    req.on('error', reject);
    req.end(body);
  }).finally(() => settle?.());
}
