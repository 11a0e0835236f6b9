import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isAlive } from './helpers/baton-process.js';
import { writeConfig } from './helpers/files.js';
import { startFixture, useHarness } from './helpers/harness.js';

// baton imports its WebSocket proxy (http-proxy-3) on the first upgrade: upgrades that
// arrive while that import is pending must be served and counted like any other.
const h = useHarness();

async function served(extra: string[] = []): Promise<string> {
  const config = h.tmp.file('gateway.json');
  writeConfig(config, { version: 'v1' });
  h.baton = startFixture(config, extra);
  const url = await h.baton.url();
  await h.baton.serving(1);
  return url.replace('http', 'ws');
}

describe('the first WebSocket upgrades', () => {
  it('several at once, before the WebSocket proxy is loaded, all connect and echo', async () => {
    const wsUrl = await served();
    const sockets = await Promise.all(Array.from({ length: 6 }, () => openSocket(wsUrl)));
    const replies = await Promise.all(sockets.map((ws, i) => echo(ws, `m${i}`)));
    expect(replies).toEqual(sockets.map((_, i) => `v1:m${i}`));
    for (const ws of sockets) ws.close();
  });

  it('an upgrade still loading when baton is told to stop holds the drain, is closed with 1001, and baton exits cleanly', async () => {
    const wsUrl = await served(['--drain-timeout', '500']);
    const ws = new WebSocket(wsUrl);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => {});
    const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
    // SIGTERM as soon as the upgrade request has left, while baton may still be importing.
    await new Promise<void>((resolve) => ws.once('upgrade', () => resolve()).once('error', () => resolve()));
    h.baton!.child.kill('SIGTERM');
    await opened;
    const code = await closed;
    expect(code).toBe(1001);
    const exit = await h.baton!.exited;
    expect(exit.code).toBe(0);
    const stopped = h.baton!.events.find((e) => e.type === 'stopped' && e.gen === 1);
    expect(stopped?.drainTimedOut).toBe(true);
    for (const pid of h.baton!.gatewayPids()) expect(isAlive(pid)).toBe(false);
  });
});

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.send(text);
  });
}
