import type http from 'node:http';
import { lazy } from '../../lazy-builtins.js';
import type { Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
import { upgradeFailed, wsProxyMissing } from '../answer-texts.js';
import { plainAnswer } from '../fast-path/plain-answer.js';
import type { Generation } from '../generation.js';
import { tlsConnectOptions } from '../upstream-tls.js';

/**
 * WebSocket upgrades, carried by http-proxy-3's `ws()`. Loading it costs about 12 MiB
 * of memory, so it is imported on the first upgrade and kept from then on.
 */
export class WebSocketProxy {
  #proxy: ProxyServer | undefined;
  #loading: Promise<ProxyServer> | undefined;
  /** Client sockets whose upgrade went through: errors on them must not write an HTTP status. */
  readonly #upgraded = new WeakSet<Duplex>();

  /** Tunnels the upgrade `req` (its headers already judged) to `gen`. */
  tunnel(req: http.IncomingMessage, socket: Duplex, head: Buffer, gen: Generation): void {
    const ws = (proxy: ProxyServer): void => {
      if (socket.destroyed) return;
      // To an instance in TLS: wss, with the SNI of the client's Host (an agent of its own carries it).
      const target = gen.tls
        ? { target: { protocol: 'https:', host: gen.target.host, port: gen.target.port }, secure: gen.tls.ca !== undefined, agent: new lazy.https.Agent(tlsConnectOptions(gen.tls, req.headers.host)) }
        : { target: gen.target };
      proxy.ws(req, socket, head, target, (err: NodeJS.ErrnoException) => {
        if (this.#upgraded.has(socket)) return socket.destroy();
        rejectUpgrade(socket, 502, upgradeFailed(gen.id, err.code ?? err.message));
      });
    };
    if (this.#proxy) return ws(this.#proxy);
    this.#load().then(ws, (err: Error) => rejectUpgrade(socket, 502, wsProxyMissing(err.message)));
  }

  #load(): Promise<ProxyServer> {
    this.#loading ??= import('http-proxy-3').then(
      ({ createProxyServer }) => {
        // X-Forwarded-* are the edge's (in the judged headers), not http-proxy-3's.
        const proxy = createProxyServer({ xfwd: false });
        // http-proxy-3 re-emits a client socket's errors (a WebSocket client that resets, say)
        // as its own 'error' event; unheard, that would throw. The socket is done: close it.
        proxy.on('error', (_err, _req, resOrSocket) => {
          resOrSocket.destroy();
        });
        proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
          proxyReq.once('upgrade', () => this.#upgraded.add(socket));
        });
        this.#proxy = proxy;
        return proxy;
      },
      (err: unknown) => {
        this.#loading = undefined; // the next upgrade tries again
        throw err;
      },
    );
    return this.#loading;
  }
}

/** An upgrade (or a request on a connection node:http let go of) answered by baton, then the connection closed. */
export function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  if (!socket.destroyed) socket.end(plainAnswer(status, text, false, false));
}
