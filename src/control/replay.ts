import http from 'node:http';
import { lazy } from '../lazy-builtins.js';
import type { Baton } from '../lifecycle/baton.js';
import { isRefusal, judgeRequest } from '../proxy/edge/request-rules.js';
import { headerObject } from '../proxy/hop-headers.js';
import { tlsConnectOptions } from '../proxy/upstream-tls.js';
import { BodyCapture, type Captured } from '../observe/request-ring.js';
import { parseHead } from './head-text.js';

/**
 * Sends a captured request again, to the generation serving now, as baton would have
 * forwarded it (the same rules, X-Forwarded-* from 127.0.0.1), and keeps the exchange in
 * the inspector marked as a replay. It goes straight to the instance, not through the
 * public port: it is not client traffic, so no generation counts it. A request whose
 * body was kept cut short is not replayed: the gateway would get a different request.
 */
export function replay(baton: Baton, original: Captured): Promise<{ captured: Captured } | { status: number; error: string }> {
  const target = baton.servingTarget;
  if (!target) return Promise.resolve({ status: 503, error: 'no generation is serving' });
  if (original.requestBodyTruncated) return Promise.resolve({ status: 409, error: `request ${original.id}'s body was kept only in part (--record-body): it cannot be sent again as it was` });
  const head = parseHead(original.requestHead);
  const version = /HTTP\/(\d\.\d)$/.exec(head.line)?.[1] ?? '1.1';
  const judged = judgeRequest({ method: original.method, target: original.target, version, fields: head.headers.flat(), remoteAddress: '127.0.0.1', localAuthority: new URL(baton.url).host });
  if (isRefusal(judged)) return Promise.resolve({ status: 409, error: `request ${original.id} is one baton refuses (${judged.reason}): it is not sent again` });
  const ring = baton.observed.requests;
  const started = performance.now();
  return new Promise((resolve) => {
    const options = { host: target.host, port: target.port, method: judged.method, path: judged.target, headers: headerObject(judged.fields), setHost: false, agent: false as const, timeout: 30_000 };
    const onResponse = (res: http.IncomingMessage): void => {
      const ttfb = performance.now() - started;
      const body = new BodyCapture(ring.bodyCapBytes);
      let bytesOut = 0;
      res.on('data', (chunk: Buffer) => {
        bytesOut += chunk.length;
        body.add(chunk);
      });
      res.on('end', () => {
        let responseHead = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
        for (let i = 0; i < res.rawHeaders.length; i += 2) responseHead += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
        const id = ring.add({
          gen: target.gen,
          method: original.method,
          target: original.target,
          startedAt: performance.timeOrigin + started,
          status: res.statusCode ?? 0,
          own: false,
          ttfbMs: ttfb,
          totalMs: performance.now() - started,
          bytesIn: original.requestBody?.length ?? 0,
          bytesOut,
          requestHead: original.requestHead,
          responseHead,
          requestBody: original.requestBody,
          requestBodyTruncated: false,
          responseBody: body.parts,
          responseBodyTruncated: body.truncated,
          replayOf: original.id,
        });
        const captured = ring.get(id);
        resolve(captured ? { captured } : { status: 503, error: 'the inspector is off (--record 0): the replay went out, but nothing keeps it' });
      });
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 502, error: `generation ${target.gen} failed the replay (${err.code ?? err.message})` }));
    };
    const req = target.tls ? lazy.https.request({ ...options, ...tlsConnectOptions(target.tls, judged.host) }, onResponse) : http.request(options, onResponse);
    // A request without a body goes without one (no Transfer-Encoding of node:http's own).
    if (judged.body === 'none') req.useChunkedEncodingByDefault = false;
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer within 30 s'), { code: 'timeout' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 502, error: `generation ${target.gen} failed the replay (${err.code ?? err.message})` }));
    req.end(original.requestBody);
  });
}
