// A tiny stand-in for an API gateway, for trying baton without installing one.
//
//   node examples/demo/gateway.js examples/demo/demo.json
//
// It reads a JSON config once at start, { "name": "...", "endpoints": [{ "path", "status", "body" }] },
// listens on 127.0.0.1:$PORT (baton sets PORT), and serves each endpoint's body as JSON.
// GET / lists the endpoints. A config that does not parse makes it print one error line and
// exit 1, the way KrakenD does, so baton rejects the change. SIGTERM closes it gracefully.
import { readFileSync } from 'node:fs';
import http from 'node:http';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node examples/demo/gateway.js <config.json>');
  process.exit(2);
}

let config;
try {
  config = JSON.parse(readFileSync(configPath, 'utf8'));
  if (!config || !Array.isArray(config.endpoints)) throw new Error('"endpoints" must be a list');
  for (const e of config.endpoints) {
    if (typeof e?.path !== 'string' || !e.path.startsWith('/')) throw new Error('every endpoint needs a "path" starting with /');
  }
} catch (err) {
  console.error(`ERROR parsing the configuration file: ${err.message}`);
  process.exit(1);
}

const name = config.name ?? 'demo';
const generation = process.env.BATON_GENERATION ?? null;
const startedAt = new Date().toISOString();
const port = Number(process.env.PORT ?? 3000);
const endpoints = new Map(config.endpoints.map((e) => [e.path, e]));

function sendJson(res, status, value) {
  const body = `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  const endpoint = endpoints.get(pathname);
  if (endpoint) return sendJson(res, endpoint.status ?? 200, endpoint.body ?? null);
  if (pathname === '/') {
    const list = config.endpoints.map((e) => ({ path: e.path, status: e.status ?? 200 }));
    return sendJson(res, 200, { name, generation, startedAt, endpoints: list });
  }
  sendJson(res, 404, { error: 'not found', path: pathname });
});

server.on('error', (err) => {
  console.error(`listen failed: ${err.code ?? ''} ${err.message}`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`${name} gateway listening on http://127.0.0.1:${port} (generation ${generation ?? '-'}, ${config.endpoints.length} endpoints)`);
});

// Graceful stop: no new connections, idle keep-alive ones closed, busy ones finish first.
function stop() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
