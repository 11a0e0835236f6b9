import http from 'node:http';
import { BatonError } from '../errors.js';
import { runningBatons } from './state-file.js';

/** Where a running baton's control plane is, and its token. */
export interface AdminTarget {
  url: string;
  token?: string;
}

/**
 * Finds the baton to talk to: `--admin <url>` when given, else the one running from
 * `cwd` (its `.baton/<pid>.json`). Several there, or none: E_USAGE saying what to do.
 */
export function findBaton(cwd: string, admin: string | undefined, token: string | undefined): AdminTarget {
  if (admin) {
    const url = /^https?:\/\//.test(admin) ? admin : `http://${/^\d+$/.test(admin) ? `127.0.0.1:${admin}` : admin}`;
    return { url: url.replace(/\/$/, ''), ...(token ? { token } : {}) };
  }
  const running = runningBatons(cwd);
  if (running.length === 0) throw new BatonError('E_USAGE', `no baton is running from ${cwd}`, 'start one here, or give --admin <url> (the dashboard URL it printed)');
  if (running.length > 1) throw new BatonError('E_USAGE', `${running.length} batons run from ${cwd} (pids ${running.map((r) => r.pid).join(', ')})`, 'give --admin <url> to choose one');
  const state = running[0]!;
  return { url: state.admin, ...((token ?? state.token) ? { token: token ?? state.token } : {}) };
}

/** One API call; resolves with the status and the parsed JSON body. */
export function call(target: AdminTarget, method: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${target.url}${path}`, { method, headers: target.token ? { authorization: `Bearer ${target.token}` } : {}, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: text });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new BatonError('E_USAGE', `cannot reach baton's control plane at ${target.url} (${err.code ?? err.message})`, 'is baton running? Its start lines name the dashboard URL; give it with --admin')));
    req.end();
  });
}

/** Follows the event stream: calls `onEvent` with each event's JSON until `signal` aborts. */
export function follow(target: AdminTarget, onEvent: (event: Record<string, unknown>) => void, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${target.url}/api/events`, { headers: target.token ? { authorization: `Bearer ${target.token}` } : {}, signal }, (res) => {
      let partial = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const blocks = (partial + chunk).split('\n\n');
        partial = blocks.pop()!;
        for (const block of blocks) {
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) onEvent(JSON.parse(data.slice(6)) as Record<string, unknown>);
        }
      });
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
    req.on('error', (err: NodeJS.ErrnoException) => (signal.aborted ? resolve() : reject(new BatonError('E_USAGE', `cannot reach baton's control plane at ${target.url} (${err.code ?? err.message})`, 'is baton running?'))));
  });
}
