import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export interface LoadOptions {
  /** Workers doing GET / and POST /echo back to back on keep-alive connections. */
  clients: number;
  /** Workers doing requests that take `slowMs` each, so they span switches. */
  slowClients?: number;
  slowMs?: number;
  /**
   * 'fixture' (default): GET / parsed as the fixture's JSON, POST /echo verified byte for byte.
   * 'get': GET / only, JSON versions noted. 'plain': GET / and POST / with bodies, any 200 counts.
   */
  mode?: 'fixture' | 'get' | 'plain';
  /** For an https:// URL: the CA that signed baton's certificate. */
  ca?: Buffer;
}

export interface LoadResult {
  ok: number;
  failed: number;
  /** Failures by cause (status code or error code), for the assertion message. */
  causes: Record<string, number>;
  /** POSTs whose echoed body matched byte for byte. */
  postsVerified: number;
  slowOk: number;
  /** Every `version` seen in GET / answers, in order of first appearance. */
  versions: string[];
}

/**
 * A closed-loop keep-alive load: each worker sends its next request when the last
 * one is answered, so every failure is counted exactly (no silent reconnects).
 * Runs until `stop()`, which lets in-flight requests finish.
 */
export class Load {
  readonly #agent: http.Agent;
  readonly #url: URL;
  readonly #secure: boolean;
  #running = true;
  readonly #workers: Array<Promise<void>> = [];
  readonly result: LoadResult = { ok: 0, failed: 0, causes: {}, postsVerified: 0, slowOk: 0, versions: [] };

  constructor(url: string, options: LoadOptions) {
    this.#url = new URL(url);
    const total = options.clients + (options.slowClients ?? 0);
    this.#secure = this.#url.protocol === 'https:';
    this.#agent = this.#secure ? new https.Agent({ keepAlive: true, maxSockets: total, ...(options.ca ? { ca: options.ca } : {}), servername: 'localhost' }) : new http.Agent({ keepAlive: true, maxSockets: total });
    for (let i = 0; i < options.clients; i++) this.#workers.push(this.#fastWorker(i, options.mode ?? 'fixture'));
    for (let i = 0; i < (options.slowClients ?? 0); i++) this.#workers.push(this.#slowWorker(options.slowMs ?? 1500));
  }

  async stop(): Promise<LoadResult> {
    this.#running = false;
    await Promise.all(this.#workers);
    this.#agent.destroy();
    return this.result;
  }

  async #fastWorker(index: number, mode: 'fixture' | 'get' | 'plain'): Promise<void> {
    let n = 0;
    while (this.#running) {
      n++;
      if (mode !== 'get' && (n + index) % 2 === 0) {
        const body = randomBytes(1024 * (1 + ((n * 7 + index) % 64)));
        const res = await this.#request('POST', mode === 'plain' ? '/' : '/echo', body);
        if (!this.#record(res) || mode === 'plain') continue;
        if (res.body.equals(body)) this.result.postsVerified++;
        else this.#unrecord('echo-mismatch');
      } else {
        const res = await this.#request('GET', '/');
        if (this.#record(res) && mode !== 'plain') this.#noteVersion(res.body);
        if (mode === 'plain' && res.cause === undefined) this.#noteText(res.body);
      }
    }
  }

  #noteText(body: Buffer): void {
    const text = body.toString().trim();
    if (!this.result.versions.includes(text)) this.result.versions.push(text);
  }

  async #slowWorker(ms: number): Promise<void> {
    while (this.#running) {
      if (this.#record(await this.#request('GET', `/slow?ms=${ms}`))) this.result.slowOk++;
    }
  }

  /** Counts one answer; true when it was a 200 with a whole body. */
  #record(res: Reply): boolean {
    if (res.cause !== undefined) {
      this.#fail(res.cause);
      return false;
    }
    this.result.ok++;
    return true;
  }

  #noteVersion(body: Buffer): void {
    try {
      const version = (JSON.parse(body.toString()) as { version: string }).version;
      if (!this.result.versions.includes(version)) this.result.versions.push(version);
    } catch {
      this.#unrecord('bad-json');
    }
  }

  /** Turns an answer counted as ok into a failure (its content was wrong). */
  #unrecord(cause: string): void {
    this.result.ok--;
    this.#fail(cause);
  }

  #fail(cause: string): void {
    this.result.failed++;
    this.result.causes[cause] = (this.result.causes[cause] ?? 0) + 1;
  }

  #request(method: string, path: string, body?: Buffer): Promise<Reply> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (reply: Reply): void => {
        if (!settled) resolve(reply);
        settled = true;
      };
      const req = (this.#secure ? https : http).request(
        {
          host: this.#url.hostname,
          port: this.#url.port,
          method,
          path,
          agent: this.#agent,
          headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const data = Buffer.concat(chunks);
            settle(res.statusCode === 200 ? { body: data } : { body: data, cause: `status-${res.statusCode} ${data.toString().trim().slice(0, 120)}` });
          });
          res.on('error', (err: NodeJS.ErrnoException) => settle({ body: Buffer.alloc(0), cause: err.code ?? err.message }));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => settle({ body: Buffer.alloc(0), cause: err.code ?? err.message }));
      req.end(body);
    });
  }
}

interface Reply {
  body: Buffer;
  /** Why it failed; undefined for a 200. */
  cause?: string;
}
