import http from 'node:http';
import { lazy } from '../lazy-builtins.js';
import net from 'node:net';
import { AbortError } from 'p-retry';
import { interruptibleWait, type Wakeup } from './interruptible-wait.js';
import { tlsConnectOptions, type UpstreamTls } from '../proxy/upstream-tls.js';

export interface HealthProbe {
  port: number;
  /** HTTP path; ready means any status below 500. */
  path: string;
  /** Aborts the wait (instance exited, superseded, timed out). */
  signal: AbortSignal;
  /** Called with each failed probe's reason, so a timeout can say what was last seen. */
  onFailure?: (reason: string, kind: ProbeFailure) => void;
  /** Probe in TLS (the instance listens in TLS on its private port): SNI and Host `localhost`. */
  tls?: UpstreamTls;
  /** Subscribes to a hint that readiness may have changed (the gateway printed a line): the next probe goes at once. Returns the unsubscribe. */
  nudge?: Wakeup;
}


/** How a probe failed: nothing listened, it answered 500 or more, or something else (a timeout, a reset). */
export type ProbeFailure = 'refused' | 'answered' | 'other';

/**
 * The instance speaks TLS on its private port, where baton speaks plain HTTP: it will
 * never become healthy, so the wait stops at once with this.
 */
export class SpeaksTlsError extends Error {
  override name = 'SpeaksTlsError';
}

/**
 * A probe in TLS reached the instance but the handshake failed (it does not speak TLS
 * after all, or its certificate does not chain to --upstream-ca): no later probe will
 * differ, so the wait stops at once with this.
 */
export class TlsHandshakeError extends Error {
  override name = 'TlsHandshakeError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a Go server (Caddy, KrakenD) answers a plain-HTTP request on a TLS port. */
const GO_TLS_ANSWER = /HTTP request to an HTTPS server/i;
/** The first byte of a TLS record: a handshake (0x16) or an alert (0x15). */
const TLS_RECORD = new Set([0x15, 0x16]);

/**
 * When probes come: 2 ms after the first, the gap growing by 5 % each time, so the gaps stay
 * under 7 ms for the first 100 ms (where most gateways become ready) and reach the 25 ms
 * cap after about half a second; and at once whenever the gateway prints a line (`nudge`):
 * gateways say when they listen, and one that boots for 300 ms would otherwise wait out a
 * 25 ms gap. With early start a gateway's readiness, not the debounce, decides when a save
 * is served, so this lag is paid in full on every save (bench/ measured 110 ms lost to a
 * 250 ms cap, and 10–20 ms to 10–25 ms gaps); a refused loopback connect every 2 ms costs
 * nothing worth saving.
 */
const FIRST_GAP_MS = 2;
const GAP_GROWTH = 1.05;
const MAX_GAP_MS = 25;

/**
 * Runs `attempt` until it resolves, on the schedule above. A rejection with p-retry's
 * AbortError stops at once with the error it wraps; `signal` stops with its reason.
 */
async function poll(attempt: () => Promise<void>, signal: AbortSignal, onFailure?: (err: Error) => void, nudge?: Wakeup): Promise<void> {
  let gap = FIRST_GAP_MS;
  for (;;) {
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof AbortError) throw err.originalError;
      // A probe cut short by the abort says nothing about the gateway: keep the last real answer.
      if (!signal.aborted) onFailure?.(err as Error);
    }
    await interruptibleWait(gap, signal, nudge);
    gap = Math.min(MAX_GAP_MS, gap * GAP_GROWTH);
  }
}

/** Polls until the instance answers below 500. An instance that answers in TLS rejects with SpeaksTlsError. */
export async function waitHealthy(probe: HealthProbe): Promise<void> {
  await poll(
    () => probeOnce(probe.port, probe.path, probe.signal, probe.tls),
    probe.signal,
    (error) => probe.onFailure?.(error.message, (error as ProbeError).kind ?? 'other'),
    probe.nudge,
  );
}

type ProbeError = Error & { kind?: ProbeFailure };

const failure = (message: string, kind: ProbeFailure): ProbeError => Object.assign(new Error(message), { kind });

/** One GET on a fresh connection; resolves on status < 500, rejects with a readable reason. */
export function probeOnce(port: number, path: string, signal: AbortSignal, tls?: UpstreamTls): Promise<void> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path, agent: false as const, signal, timeout: 2000 };
    const onResponse = (res: http.IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      if (status !== 400) {
        res.resume();
        if (status < 500) resolve();
        else reject(failure(`GET ${path} answered ${status}`, 'answered'));
        return;
      }
      // A 400 may be a TLS server's answer to plain HTTP: read what it says.
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body = (body + chunk).slice(0, 512)));
      res.on('error', () => resolve());
      res.on('end', () => (GO_TLS_ANSWER.test(body) ? reject(new AbortError(new SpeaksTlsError(body.trim()))) : resolve()));
    };
    const req = tls ? lazy.https.get({ ...options, ...tlsConnectOptions(tls, undefined), headers: { host: `localhost:${port}` } }, onResponse) : http.get(options, onResponse);
    req.on('timeout', () => req.destroy(failure(`GET ${path} got no answer within 2 s`, 'other')));
    req.on('error', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }) => {
      if (err.code?.startsWith('HPE_') && err.rawPacket && TLS_RECORD.has(err.rawPacket[0]!)) {
        return reject(new AbortError(new SpeaksTlsError('a TLS record')));
      }
      if (err.code === 'ECONNREFUSED') return reject(failure(`nothing listening on port ${port}`, 'refused'));
      // A TLS server that closes a plain-HTTP connection without a word (Node's does): ask it in TLS.
      if (!tls && err.code === 'ECONNRESET') {
        return void handshakes(port, signal).then((yes) => reject(yes ? new AbortError(new SpeaksTlsError('a TLS handshake')) : failure(`GET ${path} failed: ECONNRESET`, 'other')));
      }
      if (tls && err.code !== 'ECONNRESET' && err.code !== 'ETIMEDOUT' && (err.code === 'EPROTO' || /^(ERR_SSL|ERR_TLS|UNABLE_|DEPTH_ZERO|SELF_SIGNED|CERT_|ERR_OSSL)/.test(err.code ?? '') || /certificate|SSL|TLS/i.test(err.message))) {
        return reject(new AbortError(new TlsHandshakeError(err.code ?? 'EPROTO', err.message)));
      }
      reject(failure(err.code === undefined && (err as ProbeError).kind ? err.message : `GET ${path} failed: ${err.code ?? err.message}`, (err as ProbeError).kind ?? 'other'));
    });
  });
}

/**
 * Polls until something accepts a TCP connection on `port` (a side port: baton does not
 * know its protocol, so a connection is all it asks), on the same schedule as
 * `waitHealthy`.
 */
export async function waitListening(port: number, signal: AbortSignal, nudge?: Wakeup): Promise<void> {
  await poll(
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port, signal });
        socket.once('connect', () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
      }),
    signal,
    undefined,
    nudge,
  );
}

/** True when a TLS handshake on `port` completes (the certificate is not looked at: this only asks whether it speaks TLS). */
function handshakes(port: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = lazy.tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
    const done = (yes: boolean): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(yes);
    };
    const onAbort = (): void => done(false);
    signal.addEventListener('abort', onAbort);
    socket.setTimeout(2000, () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}
