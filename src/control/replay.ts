import type { Baton } from '../lifecycle/baton.js';
import type { Captured } from '../observe/request-ring.js';
import { judgeKept, sendCopy, type CopyAnswer } from '../proxy/send-copy.js';

/**
 * Sends a captured request again, to the generation serving now, as baton would have
 * forwarded it (the same rules, X-Forwarded-* from 127.0.0.1), and keeps the exchange in
 * the inspector marked as a replay. It goes straight to the instance, not through the
 * public port: it is not client traffic, so no generation counts it. A request whose
 * body was kept cut short is not replayed: the gateway would get a different request.
 */
export async function replay(baton: Baton, original: Captured): Promise<{ captured: Captured } | { status: number; error: string }> {
  const target = baton.servingTarget;
  if (!target) return { status: 503, error: 'no generation is serving' };
  if (original.requestBodyTruncated) return { status: 409, error: `request ${original.id}'s body was kept only in part (--record-body): it cannot be sent again as it was` };
  const judged = judgeKept(original.method, original.target, original.requestHead, new URL(baton.url).host);
  if (!judged) return { status: 409, error: `request ${original.id} is one baton refuses: it is not sent again` };
  const ring = baton.observed.requests;
  const started = performance.now();
  let answer: CopyAnswer;
  try {
    answer = await sendCopy(target, judged, original.requestBody, { bodyCap: ring.bodyCapBytes });
  } catch (err) {
    return { status: 502, error: `generation ${target.gen} failed the replay (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  const id = ring.add({
    gen: target.gen,
    method: original.method,
    target: original.target,
    startedAt: performance.timeOrigin + started,
    status: answer.status,
    own: false,
    ttfbMs: answer.ttfbMs,
    totalMs: answer.totalMs,
    bytesIn: original.requestBody?.length ?? 0,
    bytesOut: answer.body.length,
    requestHead: original.requestHead,
    responseHead: answer.head,
    requestBody: original.requestBody,
    requestBodyTruncated: false,
    responseBody: answer.body.length > 0 ? answer.body : undefined,
    responseBodyTruncated: answer.truncated,
    replayOf: original.id,
  });
  const captured = ring.get(id);
  return captured ? { captured } : { status: 503, error: 'the inspector is off (--record 0): the replay went out, but nothing keeps it' };
}
