import http from 'node:http';
import { Timeline } from './timeline.js';

/** A hung request counts as a failure, and a run stays bounded. */
const REQUEST_TIMEOUT_MS = 10_000;

/** One request that got no answer from the gateway: when, and why. */
export interface LoadFailure {
  at: number;
  cause: string;
}

/**
 * A closed-loop keep-alive load: each client sends its next GET when the last one is
 * answered, so every failure is counted exactly (no silent reconnects, no retries). A
 * failure is a request the gateway never answered: a network error, a timeout, or
 * baton's own 502, 503 or 504 (a body starting `baton:`). The gateway's own answers,
 * whatever their status, are answers.
 */
export class KeepAliveLoad {
  readonly timeline: Timeline;
  answered = 0;
  readonly failures: LoadFailure[] = [];
  /** Answer statuses seen, counted. */
  readonly statuses = new Map<number, number>();
  readonly #agent: http.Agent;
  readonly #workers: Array<Promise<void>>;
  readonly #url: URL;
  #running = true;

  constructor(url: string, clients: number, timeline = new Timeline()) {
    this.#url = new URL(url);
    if (this.#url.hostname !== '127.0.0.1') throw new Error(`load targets 127.0.0.1 only, not ${this.#url.hostname}`);
    this.timeline = timeline;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: clients });
    this.#workers = Array.from({ length: clients }, () => this.#worker());
  }

  /** Stops sending; requests in flight finish. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
    this.#agent.destroy();
  }

  async #worker(): Promise<void> {
    while (this.#running) {
      const outcome = await this.#once();
      const at = performance.now();
      if (typeof outcome === 'number') {
        this.answered++;
        this.statuses.set(outcome, (this.statuses.get(outcome) ?? 0) + 1);
        this.timeline.add(true, at);
      } else {
        this.failures.push({ at, cause: outcome.cause });
        this.timeline.add(false, at);
        await new Promise((resolve) => setTimeout(resolve, 5)); // no busy loop against a refusing port
      }
    }
  }

  #once(): Promise<number | { cause: string }> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: Number(this.#url.port), path: `${this.#url.pathname}${this.#url.search}`, agent: this.#agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        let head = '';
        res.setEncoding('latin1');
        res.on('data', (chunk: string) => {
          if (head.length < 8) head += chunk.slice(0, 8);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const batons = status >= 502 && status <= 504 && head.startsWith('baton:');
          resolve(batons ? { cause: `baton ${status}` } : status);
        });
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ cause: err.code ?? err.message }));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ cause: err.code ?? err.message }));
    });
  }
}
