#!/usr/bin/env node
// A raw TCP pipe: each client connection gets one connection to the target, bytes piped
// both ways, no HTTP parsing at all. A reference for the overhead scenario: the floor for
// any userspace hop on this machine (two extra reads and writes per exchange), i.e. the
// best an HTTP proxy with a perfect framing fast path could reach.
// Usage: PORT=<n> TARGET=<port> node tcp-pipe-proxy.mjs
import net from 'node:net';

const target = Number(process.env.TARGET);
net
  .createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream).pipe(client);
    // Either side ending or failing closes both.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  })
  .listen(Number(process.env.PORT), '127.0.0.1');

// Exit cleanly, so `node --cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
