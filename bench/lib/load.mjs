// A closed-loop keep-alive load: each worker sends its next request when the last one is
// answered, so every failure is counted exactly (no silent reconnects, no retries).
// Fast workers alternate GET / and POST (1–64 KiB bodies); slow workers hold GET /slow?ms=
// requests open across reloads. Every answer's `x-version` header is noted, so the time a
// new config starts serving can be read off the load itself.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Timeline } from './timeline.mjs';

/** Per-request timeout: a hung request counts as a failure, and the run stays bounded. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Folds an error code or status into the cause columns of the tables. */
export function causeGroup(cause) {
  if (cause === 'ECONNREFUSED') return 'refused';
  if (cause === 'ECONNRESET' || cause === 'EPIPE' || cause === 'socket hang up') return 'reset';
  if (/^status 5\d\d/.test(cause)) return '5xx';
  return 'other';
}

export class ClosedLoad {
  /**
   * @param {string} url base URL (127.0.0.1 only)
   * @param {object} o
   * @param {number} o.clients fast workers
   * @param {number} [o.slowClients] workers doing GET /slow?ms=<slowMs>
   * @param {number} [o.slowMs]
   * @param {'echo'|'plain'} [o.mode] echo: POST /echo must echo the body byte for byte; plain: POST / and any 200
   * @param {number} [o.pauseMs] pause between a fast worker's requests (0: back to back; >0: a light poller)
   * @param {Timeline} [o.timeline]
   */
  constructor(url, { clients, slowClients = 0, slowMs = 1500, mode = 'echo', pauseMs = 0, timeline = new Timeline() }) {
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1') throw new Error(`load targets 127.0.0.1 only, not ${u.hostname}`);
    this.port = Number(u.port);
    this.mode = mode;
    this.pauseMs = pauseMs;
    this.timeline = timeline;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: clients + slowClients });
    this.running = true;
    this.ok = 0;
    this.failed = 0;
    this.causes = {};
    /** [completion time, cause] for each failure. */
    this.failures = [];
    /** Completion time and latency (ms) of each fast request, in two parallel arrays. */
    this.doneAt = [];
    this.latency = [];
    this.slow = { ok: 0, failed: 0, causes: {} };
    /** version → completion time of the first answer carrying it. */
    this.firstSeen = new Map();
    this.bodies = Array.from({ length: 64 }, (_, i) => randomBytes(1024 * (i + 1)));
    this.workers = [];
    for (let i = 0; i < clients; i++) this.workers.push(this.#fast(i));
    for (let i = 0; i < slowClients; i++) this.workers.push(this.#slow(slowMs));
  }

  /** Stops sending; in-flight requests finish. Resolves with a summary. */
  async stop() {
    this.running = false;
    await Promise.all(this.workers);
    this.agent.destroy();
    return { ok: this.ok, failed: this.failed, causes: this.causes, slow: this.slow };
  }

  /** Resolves with the completion time of the first answer carrying `version` (or undefined after `timeoutMs`). */
  async waitVersion(version, timeoutMs = 15_000) {
    const t0 = performance.now();
    while (!this.firstSeen.has(version) && performance.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 2));
    return this.firstSeen.get(version);
  }

  async #fast(index) {
    let n = index;
    while (this.running) {
      n++;
      const post = n % 2 === 0;
      const body = post ? this.bodies[(n * 7 + index) % 64] : undefined;
      const started = performance.now();
      const reply = await this.#request(post ? 'POST' : 'GET', post && this.mode === 'echo' ? '/echo' : '/', body);
      const at = performance.now();
      let cause = reply.cause;
      if (!cause && post && this.mode === 'echo' && !reply.body.equals(body)) cause = 'bad-body';
      if (cause) {
        await this.#fail(cause, at);
        continue;
      }
      this.ok++;
      this.timeline.add(true, at);
      this.doneAt.push(at);
      this.latency.push(at - started);
      if (reply.version !== undefined && !this.firstSeen.has(reply.version)) this.firstSeen.set(reply.version, at);
      if (this.pauseMs > 0) await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  async #slow(ms) {
    while (this.running) {
      const reply = await this.#request('GET', `/slow?ms=${ms}`);
      if (reply.cause) {
        this.slow.failed++;
        this.slow.causes[reply.cause] = (this.slow.causes[reply.cause] ?? 0) + 1;
        await this.#fail(reply.cause, performance.now());
      } else {
        this.slow.ok++;
        this.ok++;
        this.timeline.add(true);
      }
    }
  }

  #fail(cause, at) {
    this.failed++;
    this.causes[cause] = (this.causes[cause] ?? 0) + 1;
    this.failures.push([at, cause]);
    this.timeline.add(false, at);
    // A refused connection fails in microseconds: without a pause a worker would spin (and
    // steal CPU from the gateway starting up). After a refusal a worker waits 10 ms, so
    // refusals sample an outage at about 100 Hz per client.
    if (cause === 'ECONNREFUSED') return new Promise((r) => setTimeout(r, 10));
  }

  #request(method, path, body) {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (reply) => {
        if (!settled) resolve(reply);
        settled = true;
      };
      const headers = body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {};
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, agent: this.agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const version = res.headers['x-version'];
          const data = Buffer.concat(chunks);
          settle(res.statusCode === 200 ? { body: data, version } : { body: data, cause: `status ${res.statusCode}` });
        });
        res.on('error', (err) => settle({ cause: err.code ?? err.message }));
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (err) => settle({ cause: err.code ?? err.message }));
      req.end(body);
    });
  }
}
