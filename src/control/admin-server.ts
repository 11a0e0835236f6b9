import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { BatonError } from '../errors.js';
import type { Baton } from '../lifecycle/baton.js';
import type { ControlPlane } from '../options.js';
import { apiRoutes } from './api-routes.js';
import { send } from './send.js';
import { serveStatic } from './static-files.js';
import { Rates } from './rates.js';
import { removeStateFile, writeStateFile } from './state-file.js';

/** Where the control plane listens, and who may use it. */
export interface AdminOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** A port, or 0 for a free one. @default 8081, or a free port when 8081 is taken */
  port?: number;
  /** True when the port was asked for by name: taken, it is an error instead of a free port. */
  fixed?: boolean;
  /**
   * Required on every request (`Authorization: Bearer …`, or `?token=` once, which sets a
   * cookie for the dashboard). Off loopback one is made up when none is given.
   */
  token?: string;
  /** Write `.baton/<pid>.json` in baton's working folder so `baton status` finds it. @default true */
  stateFile?: boolean;
  /** baton's version, for the HAR file. */
  version?: string;
}

export const DEFAULT_ADMIN_PORT = 8081;

const isLoopback = (host: string): boolean => host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');

/**
 * The control plane: an HTTP listener of its own (never the public port, where the
 * gateway owns every path) with the JSON API (`api-routes.ts`), the event stream and the
 * dashboard page. Loopback by default; bound elsewhere it requires a token. It reads what
 * observe/ keeps and asks the orchestrator for reloads; the data path never sees it.
 */
export function adminServer(options: AdminOptions = {}): (baton: Baton) => Promise<ControlPlane> {
  return async (baton) => {
    const host = options.host ?? '127.0.0.1';
    const token = options.token ?? (isLoopback(host) ? undefined : randomBytes(18).toString('base64url'));
    const rates = new Rates(baton);
    const routes = apiRoutes(baton, rates, options.version ?? '0.0.0');
    const sockets = new Set<net.Socket>();
    const server = http.createServer((req, res) => {
      void handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { error: err instanceof Error ? err.message : String(err) });
        else res.destroy();
      });
    });
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });

    let origin = '';
    async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
      const url = new URL(req.url ?? '/', 'http://admin');
      // A page on another site must not drive the API (CSRF), nor reach it through a DNS name of its own (rebinding).
      if (req.headers.origin && req.headers.origin !== origin) return send(res, 403, { error: 'cross-origin requests are refused' });
      if (isLoopback(host) && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(req.headers.host ?? '')) return send(res, 403, { error: 'the Host is not a loopback address' });
      if (token !== undefined && !authorised(req, url, token)) return send(res, 401, { error: 'a token is required: Authorization: Bearer <token>, or ?token=<token>' });
      if (token !== undefined && url.searchParams.get('token') === token) res.setHeader('set-cookie', `baton_token=${token}; HttpOnly; SameSite=Strict; Path=/`);
      if (url.pathname.startsWith('/api/')) return routes(req, res, url);
      if (req.method === 'GET' || req.method === 'HEAD') return serveStatic(url.pathname, res);
      send(res, 405, { error: `${req.method} is not served here` });
    }

    const port = await listen(server, host, options.port ?? DEFAULT_ADMIN_PORT, options.port === undefined ? true : !options.fixed);
    const shownHost = host.includes(':') ? `[${host}]` : host;
    origin = `http://${shownHost}:${port}`;
    const url = token ? `${origin}/?token=${token}` : origin;
    const state = options.stateFile === false ? undefined : writeStateFile(baton.options.cwd, { pid: process.pid, url: baton.url, admin: origin, ...(token ? { token } : {}), startedAt: new Date().toISOString() });
    let closed = false;
    const stop = async (hard: boolean): Promise<void> => {
      if (closed) return;
      closed = true;
      rates.close();
      routes.close();
      if (state) removeStateFile(state);
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      if (hard) for (const socket of sockets) socket.destroy();
      else server.closeIdleConnections();
      // Event streams never end on their own: they were told baton stopped; now they go.
      setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, 200).unref();
      await done;
    };
    return { url, close: () => stop(false), destroy: () => stop(true) };
  };
}

function authorised(req: http.IncomingMessage, url: URL, token: string): boolean {
  const given = url.searchParams.get('token') ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? /(?:^|;\s*)baton_token=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (!given || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

/** Binds `port`; when it is taken and `fallback`, a free one instead. */
function listen(server: http.Server, host: string, port: number, fallback: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE' && fallback && port !== 0) {
        server.listen({ host, port: 0 });
        return;
      }
      server.off('listening', onListening);
      reject(
        err.code === 'EADDRINUSE'
          ? new BatonError('E_PORT_IN_USE', `admin port ${port} on ${host} is already in use`, 'choose another with --admin <port>, or --admin off')
          : new BatonError('E_LISTEN', `cannot bind the admin API to ${host}:${port} (${err.code ?? err.message})`, 'check --admin names an address of this machine, or use --admin off'),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    };
    server.on('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port });
  });
}
