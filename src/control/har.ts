import type { Captured } from '../observe/request-ring.js';
import { parseHead } from '../observe/head-text.js';

/** HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), as Chrome DevTools' network panel loads it. */
export function toHar(entries: readonly Captured[], publicUrl: string, version: string): unknown {
  return {
    log: {
      version: '1.2',
      creator: { name: 'baton', version },
      pages: [],
      entries: entries.map((e) => harEntry(e, publicUrl)),
    },
  };
}

function harEntry(e: Captured, publicUrl: string): unknown {
  const request = parseHead(e.requestHead);
  const response = parseHead(e.responseHead);
  const host = request.headers.find(([n]) => n.toLowerCase() === 'host')?.[1];
  const base = host ? `http://${host}` : publicUrl;
  const url = /^https?:\/\//i.test(e.target) ? e.target : `${base}${e.target.startsWith('/') ? '' : '/'}${e.target}`;
  const query = (() => {
    try {
      return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
    } catch {
      return [];
    }
  })();
  const httpVersion = /HTTP\/\d\.\d$/.exec(request.line)?.[0] ?? 'HTTP/1.1';
  const statusText = response.line.replace(/^HTTP\/\d\.\d \d{3} ?/, '');
  const mime = response.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? '';
  const requestMime = request.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? 'application/octet-stream';
  const wait = Number.isNaN(e.ttfbMs) ? 0 : e.ttfbMs;
  const time = Number.isNaN(e.totalMs) ? 0 : e.totalMs;
  const text = (b: Buffer | undefined): { text?: string; encoding?: string } => {
    if (!b) return {};
    const s = b.toString('utf8');
    return s.includes('\uFFFD') ? { text: b.toString('base64'), encoding: 'base64' } : { text: s };
  };
  return {
    startedDateTime: new Date(e.startedAt).toISOString(),
    time,
    request: {
      method: e.method,
      url,
      httpVersion,
      cookies: [],
      headers: request.headers.map(([name, value]) => ({ name, value })),
      queryString: query,
      ...(e.requestBody ? { postData: { mimeType: requestMime, ...text(e.requestBody) } } : {}),
      headersSize: e.requestHead.length + 2,
      bodySize: e.bytesIn,
    },
    response: {
      status: e.status,
      statusText,
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: response.headers.map(([name, value]) => ({ name, value })),
      content: { size: e.bytesOut, mimeType: mime, ...text(e.responseBody), ...(e.responseBodyTruncated ? { comment: 'truncated by baton' } : {}) },
      redirectURL: response.headers.find(([n]) => n.toLowerCase() === 'location')?.[1] ?? '',
      headersSize: e.responseHead ? e.responseHead.length + 2 : -1,
      bodySize: e.bytesOut,
    },
    cache: {},
    timings: { send: 0, wait, receive: Math.max(0, time - wait) },
    _generation: e.gen ?? null,
  };
}
