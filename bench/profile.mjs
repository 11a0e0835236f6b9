#!/usr/bin/env node
// Profiles baton's data path: runs `node --cpu-prof dist/cli/main.js` in front of the fixture
// gateway, loads it with autocannon, stops it cleanly (the profile is written on exit),
// and prints where the CPU time went: by area (baton, http-proxy-3, Node's HTTP, GC…) and
// the top functions by self time. The .cpuprofile is kept in bench/results/ for DevTools.
//
//   node bench/profile.mjs                 10 s at full speed, 32 connections, GET /
//   node bench/profile.mjs --seconds 5 --rate 1000 --post 16384
//   node bench/profile.mjs --proxy http    the same for baton --no-fast-path (node:http's path)
//   node bench/profile.mjs --proxy minimal the same for bench/lib/minimal-proxy.mjs (the Node HTTP floor)
//   node bench/profile.mjs --proxy pipe    the same for bench/lib/tcp-pipe-proxy.mjs (the userspace floor)
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import getPort from 'get-port';
import { startBaton } from './lib/baton.mjs';
import { start, stop, waitHttp } from './lib/proc.mjs';
import { cannon } from './lib/cannon.mjs';
import { fixtureGateway, gatewayEnv } from './lib/gateways.mjs';
import { cpuMs } from './lib/procstat.mjs';
import { flag, fmt, printMachine, RESULTS, table, tempDir } from './lib/util.mjs';

const SOCKET_WRITES = new Set(['writev', 'writeLatin1String', 'writeUtf8String', 'writeBuffer', 'writeAsciiString', 'writeUcs2String']);

/** Which part of the stack a frame belongs to. */
function area(url, name) {
  if (!url && SOCKET_WRITES.has(name)) return 'native: socket writes (syscall, incl. loopback delivery)';
  if (!url && name === 'parse') return 'native: JSON/URL parse';
  if (!url) return name.startsWith('(') ? name : '(native / V8)';
  if (url.includes('/http-proxy-3/')) return 'http-proxy-3';
  if (url.includes('/node_modules/')) return `dependency: ${url.split('/node_modules/').pop().split('/')[0]}`;
  if (url.includes('/dist/')) return 'baton (dist/)';
  if (url.includes('/bench/')) return 'reference proxy (bench/lib)';
  if (url.startsWith('node:')) {
    const mod = url.slice(5);
    if (/^_http_|^http$/.test(mod)) return 'node: http';
    if (/^net$|^internal\/stream_base|^_stream|^internal\/streams/.test(mod)) return 'node: net & streams';
    if (/^events$|^internal\/event/.test(mod)) return 'node: events';
    if (/timers/.test(mod)) return 'node: timers';
    if (/async_hooks|process\/task_queues/.test(mod)) return 'node: async hooks & ticks';
    return `node: ${mod}`;
  }
  return url;
}

/** Self time per function and per area, in ms, from a .cpuprofile. */
export function summarise(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const fns = new Map();
  const areas = new Map();
  let total = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    if (functionName === '(idle)') continue;
    total += ms;
    const name = functionName || '(anonymous)';
    const key = `${name} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + ms);
    const a = area(url, name);
    areas.set(a, (areas.get(a) ?? 0) + ms);
  }
  const sorted = (m) => [...m].sort((x, y) => y[1] - x[1]);
  return { totalMs: total, areas: sorted(areas), functions: sorted(fns) };
}

/** Reference proxies: `--proxy <name>` profiles bench/lib/<script> instead of baton. */
const REFERENCES = { minimal: 'minimal-proxy.mjs', pipe: 'tcp-pipe-proxy.mjs' };

/** The fixture gateway plus a reference proxy in front of it, shaped like startBaton's result. */
async function startReference(script, gateway, file, dir, nodeArgs) {
  const gatewayPort = await getPort({ host: '127.0.0.1' });
  const [cmd, ...args] = gateway.command(file);
  const upstream = start(cmd, args, { env: gatewayEnv(dir, { PORT: String(gatewayPort) }) });
  await waitHttp(gatewayPort, { child: upstream });
  const port = await getPort({ host: '127.0.0.1' });
  const proxy = start(process.execPath, [...nodeArgs, new URL(`./lib/${script}`, import.meta.url).pathname], { env: { ...process.env, PORT: String(port), TARGET: String(gatewayPort) } });
  await waitHttp(port, { child: proxy });
  return {
    pid: proxy.pid,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await stop(proxy);
      await stop(upstream);
    },
  };
}

async function main() {
  printMachine();
  const seconds = flag('seconds', 10);
  const rate = flag('rate', 0);
  const post = flag('post', 0);
  const dir = tempDir();
  const gateway = fixtureGateway();
  const file = path.join(dir, gateway.file);
  writeFileSync(file, gateway.config('v0'));
  const prof = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200'];
  const which = flag('proxy', 'baton');
  if (which !== 'baton' && which !== 'http' && !REFERENCES[which]) throw new Error(`--proxy ${which}: choose baton, http, ${Object.keys(REFERENCES).join(' or ')}`);
  const reference = REFERENCES[which] !== undefined;
  const batonFlags = which === 'http' ? ['--no-fast-path'] : [];
  const baton = reference
    ? await startReference(REFERENCES[which], gateway, file, dir, prof)
    : await startBaton(['-p', '0', ...batonFlags, '-w', file], gateway.command(file), { env: gatewayEnv(dir), cwd: dir, nodeArgs: prof });
  const url = `${baton.url}${post ? '/echo' : '/'}`;
  const warm = await cannon({ url, connections: 32, seconds: 1 });
  const cpu0 = cpuMs(baton.pid);
  const r = await cannon({ url, connections: rate ? 10 : 32, seconds, ...(rate ? { rate } : {}), ...(post ? { method: 'POST', body: Buffer.alloc(post, 'p') } : {}) });
  const cpu = cpuMs(baton.pid) - cpu0;
  await baton.stop();
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!name) throw new Error('no .cpuprofile written (did baton exit cleanly?)');
  const label = reference ? REFERENCES[which].replace('.mjs', '') : which === 'http' ? 'baton-no-fast-path' : 'baton';
  const kept = path.join(RESULTS, `${label}.cpuprofile`);
  copyFileSync(path.join(dir, name), kept);
  const s = summarise(JSON.parse(readFileSync(kept, 'utf8')));
  console.log(`\n${fmt(r.rps)} req/s through ${label}, ${fmt((cpu * 1000) / r.requests, 1)} µs ${reference ? 'proxy' : 'baton'} CPU per request; profile: ${path.relative(process.cwd(), kept)}\n`);
  // The profile spans the warm-up too: per-request figures divide by every request it saw.
  const requests = warm.requests + r.requests;
  const rows = (list, n) => list.slice(0, n).map(([k, ms]) => [k, fmt(ms), `${fmt((ms / s.totalMs) * 100, 1)} %`, fmt((ms * 1000) / requests, 1)]);
  console.log(`(profiled, so slower than unprofiled: per-request figures are inflated, compare shares)\n`);
  console.log(table(['area', 'self ms', 'share', 'µs/request'], rows(s.areas, 14)));
  console.log('');
  console.log(table(['function (self time)', 'self ms', 'share', 'µs/request'], rows(s.functions.map(([f, ms]) => [`\`${f}\``, ms]), 25)));
  process.exit(0);
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
