import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { answerFields, drainTimedOut } from '../answer-texts.js';
import type { CutKind, Exchange, Generation } from '../generation.js';

/** A request on node:http's path, in flight until its response closes. */
export class HttpExchange implements Exchange {
  readonly #res: http.ServerResponse;
  /** The gateway's response feeding it, once it arrived. */
  upstream: http.IncomingMessage | undefined;

  constructor(res: http.ServerResponse) {
    this.#res = res;
  }

  cut(gen: Generation): CutKind {
    const res = this.#res;
    if (!res.headersSent) {
      respond(res, 504, drainTimedOut(gen.id), true);
      return 'request';
    }
    // The head went out in one writeHead, so its framing is that of the upstream response.
    if (this.upstream?.headers['content-length'] === undefined && !res.writableEnded) {
      this.upstream?.unpipe(res);
      this.upstream?.destroy();
      res.end();
      return 'stream';
    }
    res.destroy();
    return 'request';
  }
}

/** An unmasked WebSocket close frame with status 1001 (going away). */
const WS_CLOSE_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** An upgraded connection (a WebSocket), in flight until it closes. */
export class WebSocketExchange implements Exchange {
  readonly #socket: Duplex;

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  cut(): CutKind {
    const socket = this.#socket;
    socket.end(WS_CLOSE_GOING_AWAY);
    // Not unref'd: a paused socket with nothing to write does not keep the process alive,
    // and shutdown waits for this one to be gone. A socket that closes first takes it along.
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.once('close', () => clearTimeout(timer));
    return 'websocket';
  }
}

/** Responses that are baton's own answer, not the gateway's (for the accounting). */
export const ownAnswers = new WeakSet<http.ServerResponse>();

/** baton's own answer on node:http's path; `close`: the connection ends after it. */
export function respond(res: http.ServerResponse, status: number, text: string, close = false): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  ownAnswers.add(res);
  const body = `${text}\n`;
  const fields: Record<string, string> = answerFields(status, body);
  if (close) {
    res.shouldKeepAlive = false;
    fields.connection = 'close';
  }
  res.writeHead(status, fields);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
