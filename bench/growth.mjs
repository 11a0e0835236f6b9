#!/usr/bin/env node
// How baton's cost grows, against nginx (one worker, upstream keepalive) and a raw TCP pipe
// in front of the same gateway instance, in one run:
//   connections  RSS per idle keep-alive client connection at 100, 1,000 and 5,000 (each
//                sent one GET and got its answer, then stays open)
//   bodies       throughput of 1 KiB, 64 KiB and 1 MiB answers (Caddy file_server) and
//                uploads (the fixture gateway, which discards the body), wrk -c8, rounds
//                alternating direct, baton, nginx, pipe; baton's peak RSS after them
//   generations  baton serving one generation against baton with a second one alive (the
//                previous generation kept warm for a rollback, draining), same rounds
// Load: wrk (required for the body and generation rounds; skipped without it).
//
//   node bench/growth.mjs [--long: 6 rounds of 4 s, else 3 of 2 s] [--only connections,bodies,generations]
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import getPort from 'get-port';
import { startBaton } from './lib/baton.mjs';
import { gatewayEnv } from './lib/gateways.mjs';
import { startNginx } from './lib/nginx.mjs';
import { start, stop, waitHttp } from './lib/proc.mjs';
import { cpuMs, peakRssMiB, rssMiB } from './lib/procstat.mjs';
import { flag, fmt, installed, isLong, mean, printMachine, sleep, table, tempDir, writeResults, runIfMain, FIXTURE } from './lib/util.mjs';

const SIZES = [
  ['1 KiB', 1024],
  ['64 KiB', 64 * 1024],
  ['1 MiB', 1024 * 1024],
];

/** nginx (one process) and the raw pipe in front of `targetPort`. */
async function startPeers(dir, name, targetPort) {
  const peers = {};
  if (installed('nginx')) {
    peers.nginx = await startNginx(dir, `nginx-${name}`, [targetPort], { http: 'client_max_body_size 0;' });
  } else console.log('SKIPPED the nginx rows: nginx is not installed (apt-get install nginx)');
  const port = await getPort({ host: '127.0.0.1' });
  const child = start(process.execPath, [new URL('./lib/tcp-pipe-proxy.mjs', import.meta.url).pathname], { env: { ...process.env, PORT: String(port), TARGET: String(targetPort) } });
  await waitHttp(port, { child });
  peers.pipe = { port, pid: child.pid, stop: () => stop(child) };
  return peers;
}

/** Opens `n` keep-alive connections to `port`, each sending one GET and reading its answer; resolves with them open. */
async function openIdle(port, n) {
  const sockets = [];
  for (let done = 0; done < n; ) {
    const batch = Math.min(200, n - done);
    await Promise.all(
      Array.from({ length: batch }, () => new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
        s.once('data', () => resolve());
        s.once('error', reject);
        sockets.push(s);
      })),
    );
    done += batch;
  }
  return sockets;
}

/** RSS per idle connection for each front: the RSS with `n` open minus the RSS before, over n. */
async function connectionsScenario(fronts, counts) {
  const rows = [];
  for (const n of counts) {
    for (const [name, f] of Object.entries(fronts)) {
      await sleep(300);
      const before = rssMiB(f.pid);
      const sockets = await openIdle(f.port, n);
      await sleep(500);
      const during = rssMiB(f.pid);
      for (const s of sockets) s.destroy();
      rows.push({ front: name, connections: n, rssBeforeMiB: before, rssMiB: during, kibPerConnection: ((during - before) * 1024) / n });
      await sleep(500);
    }
  }
  return rows;
}

/** One wrk round: GET `url`, or POST a body of `upload` bytes; { rps, mibps, errors }. */
function wrkRound(url, { seconds, connections, upload, size, dir }) {
  const args = ['-t2', `-c${connections}`, `-d${seconds}s`];
  if (upload) {
    const script = path.join(dir, `post-${upload}.lua`);
    writeFileSync(script, `wrk.method = "POST"\nwrk.body = string.rep("x", ${upload})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);
    args.push('-s', script);
  }
  const out = execFileSync('wrk', [...args, url], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + (/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
  return { requests, rps: requests / seconds, mibps: (requests * size) / seconds / 1048576, errors };
}

/** Alternating rounds over `fronts` ({ name: { url, pid } }) for one kind of request. */
function alternate(fronts, o, kind) {
  const names = Object.keys(fronts);
  const out = [];
  for (let i = 0; i < o.rounds; i++) {
    for (const name of [...names.slice(i % names.length), ...names.slice(0, i % names.length)]) {
      const { url, pid } = fronts[name];
      const cpu0 = pid ? cpuMs(pid) : 0;
      const r = wrkRound(url, { ...o, ...kind });
      out.push({ front: name, round: i, ...r, cpuUsPerReq: pid ? ((cpuMs(pid) - cpu0) * 1000) / r.requests : null });
    }
  }
  return names.map((name) => {
    const of = out.filter((r) => r.front === name);
    return { front: name, rps: mean(of.map((r) => r.rps)), mibps: mean(of.map((r) => r.mibps)), cpuUsPerReq: of[0].cpuUsPerReq === null ? null : mean(of.map((r) => r.cpuUsPerReq)), errors: of.reduce((a, r) => a + r.errors, 0) };
  });
}

const urlOf = (port, p = '/') => `http://127.0.0.1:${port}${p}`;

export async function growth(argv = process.argv) {
  const machine = printMachine();
  const long = isLong(argv);
  const o = { rounds: flag('rounds', long ? 6 : 3, argv), seconds: flag('seconds', long ? 4 : 2, argv), connections: flag('connections', 8, argv) };
  const only = flag('only', 'connections,bodies,generations', argv).split(',');
  const caddy = installed('caddy');
  const wrk = installed('wrk');
  if (!caddy) console.log('SKIPPED the download rows: caddy is not installed (apt-get install caddy)');
  if (!wrk) console.log('SKIPPED the body and generation rounds: wrk is not installed (apt-get install wrk)');
  const dir = tempDir();
  const env = gatewayEnv(dir);
  const result = { machine, options: o };
  const md = [];

  // The download gateway: Caddy serving files of each size (the fixture without Caddy: its answer).
  const files = path.join(dir, 'files');
  mkdirSync(files, { recursive: true });
  for (const [, size] of SIZES) writeFileSync(path.join(files, `${size}.bin`), Buffer.alloc(size, 'x'));
  const caddyfile = path.join(dir, 'Caddyfile');
  writeFileSync(caddyfile, `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\troot * ${files}\n\trespond / "ok" 200\n\tfile_server\n}\n`);
  const fixtureConfig = path.join(dir, 'fixture.json');
  writeFileSync(fixtureConfig, `${JSON.stringify({ version: 'v1', routes: { '/up': { body: 'ok' } } })}\n`);
  const downloadCommand = caddy ? ['caddy', 'run', '--config', caddyfile, '--adapter', 'caddyfile'] : ['node', FIXTURE, fixtureConfig];
  const port = () => getPort({ host: '127.0.0.1' });
  const baton = await startBaton(['-p', String(await port()), '--preset', 'none', '-w', caddy ? caddyfile : fixtureConfig], downloadCommand, { env, cwd: dir });
  const peers = await startPeers(dir, 'down', baton.privatePort);
  const fronts = { baton: { port: baton.port, pid: baton.pid }, ...Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, { port: v.port, pid: v.pid }])) };
  try {
    if (only.includes('connections')) {
      const counts = [100, 1000, 5000];
      const rows = await connectionsScenario(fronts, counts);
      result.connections = rows;
      md.push(`### RSS per idle keep-alive client connection\n\n${table(['front', ...counts.map((n) => `${n.toLocaleString('en')} connections: RSS MiB (KiB each)`)], Object.keys(fronts).map((f) => [f, ...counts.map((n) => {
        const r = rows.find((x) => x.front === f && x.connections === n);
        return `${fmt(r.rssMiB, 1)} (${fmt(r.kibPerConnection, 1)})`;
      })]))}`);
    }
    if (only.includes('bodies') && wrk) {
      const down = { direct: { url: null, port: baton.privatePort }, ...fronts };
      const rows = [];
      for (const [label, size] of caddy ? SIZES : []) {
        const targets = Object.fromEntries(Object.entries(down).map(([k, v]) => [k, { url: urlOf(v.port, `/${size}.bin`), pid: v.pid }]));
        for (const r of alternate(targets, o, { size })) rows.push({ kind: 'answer', label, ...r });
      }
      const peakDown = peakRssMiB(baton.pid);
      // Uploads: the fixture gateway discards the body (route /up); baton, nginx and the pipe in front of it.
      const up = await startBaton(['-p', String(await port()), '--preset', 'none', '-w', fixtureConfig], ['node', FIXTURE, fixtureConfig], { env, cwd: dir });
      const upPeers = await startPeers(dir, 'up', up.privatePort);
      const upFronts = { direct: { port: up.privatePort }, baton: { port: up.port, pid: up.pid }, ...Object.fromEntries(Object.entries(upPeers).map(([k, v]) => [k, { port: v.port, pid: v.pid }])) };
      for (const [label, size] of SIZES) {
        const targets = Object.fromEntries(Object.entries(upFronts).map(([k, v]) => [k, { url: urlOf(v.port, '/up'), pid: v.pid }]));
        for (const r of alternate(targets, o, { size, upload: size, dir })) rows.push({ kind: 'upload', label, ...r });
      }
      const peakUp = peakRssMiB(up.pid);
      for (const p of Object.values(upPeers)) await p.stop();
      await up.stop();
      result.bodies = { rows, peakRssMiB: { answers: peakDown, uploads: peakUp } };
      const pipeOf = (r) => rows.find((x) => x.kind === r.kind && x.label === r.label && x.front === 'pipe');
      md.push(`### Bodies: MiB/s through each front (wrk -t2 -c${o.connections}, ${o.rounds} rounds of ${o.seconds} s, alternating)\n\n${table(['request', 'front', 'req/s', 'MiB/s', 'vs the pipe', 'CPU µs/req', 'errors'], rows.map((r) => [`${r.kind === 'answer' ? 'GET, answer of' : 'POST, upload of'} ${r.label}`, r.front, fmt(r.rps), fmt(r.mibps, 1), pipeOf(r) ? fmt(r.mibps / pipeOf(r).mibps, 3) : '—', r.cpuUsPerReq === null ? '—' : fmt(r.cpuUsPerReq, 1), r.errors]))}\n\nbaton's peak RSS: ${fmt(peakDown, 1)} MiB after the answers, ${fmt(peakUp, 1)} MiB after the uploads.`);
    }
    if (only.includes('generations') && wrk) {
      // A second baton whose previous generation stays alive (kept warm for a rollback) during the rounds.
      const file = path.join(dir, caddy ? 'two.Caddyfile' : 'two.json');
      writeFileSync(file, caddy ? `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\trespond "v1" 200\n}\n` : `${JSON.stringify({ version: 'v1' })}\n`);
      const command = caddy ? ['caddy', 'run', '--config', file, '--adapter', 'caddyfile'] : ['node', FIXTURE, file];
      const oneFile = path.join(dir, caddy ? 'one.Caddyfile' : 'one.json');
      writeFileSync(oneFile, caddy ? `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\trespond "v1" 200\n}\n` : `${JSON.stringify({ version: 'v1' })}\n`);
      const one = await startBaton(['-p', String(await port()), '--preset', 'none', '-w', oneFile], caddy ? ['caddy', 'run', '--config', oneFile, '--adapter', 'caddyfile'] : ['node', FIXTURE, oneFile], { env, cwd: dir });
      const two = await startBaton(['-p', String(await port()), '--preset', 'none', '--debounce', '20', '--keep-previous', '2147483647', '-w', file], command, { env, cwd: dir });
      writeFileSync(file, caddy ? `{\n\tadmin off\n\tauto_https off\n}\n:{$PORT} {\n\trespond "v2" 200\n}\n` : `${JSON.stringify({ version: 'v2' })}\n`);
      await two.waitFor((e) => e.type === 'serving' && e.gen === 2);
      await two.waitFor((e) => e.type === 'draining' && e.gen === 1);
      const rows = alternate({ 'one generation': { url: urlOf(one.port), pid: one.pid }, 'two alive (the previous draining, kept warm)': { url: urlOf(two.port), pid: two.pid } }, { ...o, connections: 50 }, { size: 0 });
      const stillTwo = !two.events.some((e) => e.type === 'stopped' && e.gen === 1);
      await one.stop();
      await two.stop();
      if (!stillTwo) throw new Error('the previous generation stopped during the rounds');
      result.generations = rows;
      md.push(`### Two generations alive (wrk -t2 -c50, ${o.rounds} rounds of ${o.seconds} s, alternating)\n\n${table(['baton', 'req/s', 'CPU µs/req', 'errors'], rows.map((r) => [r.front, fmt(r.rps), fmt(r.cpuUsPerReq, 1), r.errors]))}\n\nratio two/one: ${fmt(rows[1].rps / rows[0].rps, 3)}× req/s, ${fmt(rows[1].cpuUsPerReq / rows[0].cpuUsPerReq, 3)}× CPU per request.`);
    }
  } finally {
    for (const p of Object.values(peers)) await p.stop();
    await baton.stop();
  }
  const text = md.join('\n\n');
  console.log(`\n## growth: ${caddy ? 'Caddy' : 'fixture gateway'}, load by wrk\n\n${text}\n`);
  writeResults('growth', { scenario: 'growth', ...result, table: text });
  return { ...result, md: text };
}

runIfMain(import.meta.url, () => growth());
