import { existsSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/**
 * The dashboard: one page and its script, written as plain browser modules (no build
 * step), and two small libraries served from node_modules: htm with Preact's standalone
 * build (13 KB: the view, with hooks) and uPlot (51 KB: the charts). Nothing is fetched
 * from outside the machine.
 */
const FILES: Readonly<Record<string, { from: URL; type: string }>> = {
  '/': { from: new URL('../../src/control/dashboard/index.html', import.meta.url), type: 'text/html; charset=utf-8' },
  '/app.js': { from: new URL('../../src/control/dashboard/app.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  '/style.css': { from: new URL('../../src/control/dashboard/style.css', import.meta.url), type: 'text/css; charset=utf-8' },
  '/vendor/preact-htm.js': { from: packageFile('htm', 'preact/standalone.module.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.js': { from: packageFile('uplot', 'dist/uPlot.esm.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.css': { from: packageFile('uplot', 'dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** A file of an installed package, found from its main entry (the packages export no such subpaths). */
function packageFile(name: string, file: string): URL {
  let dir = path.dirname(require.resolve(name));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return pathToFileURL(path.join(dir, file));
}

const cache = new Map<string, Buffer>();

export function serveStatic(pathname: string, res: http.ServerResponse): void {
  const file = FILES[pathname === '/index.html' ? '/' : pathname];
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  let body = cache.get(pathname);
  if (!body) {
    body = readFileSync(fileURLToPath(file.from));
    cache.set(pathname, body);
  }
  res.writeHead(200, { 'content-type': file.type, 'content-length': body.length, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
