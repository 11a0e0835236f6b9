#!/usr/bin/env node
// The smallest useful Node reverse proxy: keep-alive agent, headers copied, bodies piped.
// A reference for the overhead scenario: what one extra Node HTTP hop costs on this
// machine before any of baton's own work. Usage: PORT=<n> TARGET=<port> node minimal-proxy.mjs
import http from 'node:http';

const target = Number(process.env.TARGET);
const agent = new http.Agent({ keepAlive: true });
http
  .createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  })
  .listen(Number(process.env.PORT), '127.0.0.1');

// Exit cleanly, so `node --cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
