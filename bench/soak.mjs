#!/usr/bin/env node
// Soak: many reloads under steady mixed traffic (keep-alive GET, verified POST echoes,
// SSE streams and WebSocket sessions), through the real baton CLI and the fixture gateway.
// It counts every failed request and every lost or repeated stream message, and reads
// baton's RSS and open file descriptors before and after.
//
//   npm run soak                      200 reloads (writes bench/results/soak.json)
//   node bench/soak.mjs --reloads 20  a short run
//
// The test suite runs a 20-reload version of it (test/soak.test.ts) and asserts the zeros.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';
import WebSocket from 'ws';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads a process's resident memory (MiB) and open descriptors from /proc. */
export function procSample(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(rssKb / 102.4) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Starts `baton --json -q` (errors only) in front of the fixture gateway on a free port.
 * `--keep-previous 0`: each old generation stops once drained, so what is alive (and open)
 * at the end is exactly what the reload cycle left over; the rollback window is tested on
 * its own (test/experiments.test.ts).
 */
async function startBaton(config) {
  const port = await getPort({ host: '127.0.0.1' });
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), '--json', '-q', '-p', String(port), '--debounce', '10', '--keep-previous', '0', '-w', config, '--', 'node', path.join(ROOT, 'test/fixtures/gateway.mjs'), config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (errors += c));
  return { child, url: `http://127.0.0.1:${port}`, errors: () => errors };
}

class Counters {
  requests = 0;
  failed = 0;
  causes = {};
  streamMessages = 0;
  lostMessages = 0;
  repeatedMessages = 0;
  wsMessages = 0;
  fail(cause) {
    this.failed++;
    this.causes[cause] = (this.causes[cause] ?? 0) + 1;
  }
}

function httpRequest(agent, url, method, pathName, body) {
  return new Promise((resolve) => {
    const req = http.request(url + pathName, { method, agent, headers: body ? { 'content-length': body.length } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

async function httpWorker(url, agent, counters, running, index) {
  for (let n = 0; running(); n++) {
    counters.requests++;
    if ((n + index) % 2 === 0) {
      const body = randomBytes(1024 * (1 + (n % 32)));
      const res = await httpRequest(agent, url, 'POST', '/echo', body);
      if (res.error) counters.fail(res.error);
      else if (res.status !== 200) counters.fail(`status-${res.status}`);
      else if (!res.body.equals(body)) counters.fail('echo-mismatch');
    } else {
      const res = await httpRequest(agent, url, 'GET', '/');
      if (res.error) counters.fail(res.error);
      else if (res.status !== 200) counters.fail(`status-${res.status}`);
    }
  }
}

/** Repeatedly reads a 20-event SSE stream, checking ids 0..19 arrive once each, in order. */
async function sseWorker(url, counters, running) {
  while (running()) {
    counters.requests++;
    await new Promise((resolve) => {
      http
        .get(`${url}/sse?count=20&interval=25`, { agent: false }, (res) => {
          let buffer = '';
          let expected = 0;
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            buffer += chunk;
            const parts = buffer.split('\n\n');
            buffer = parts.pop();
            for (const part of parts) {
              const id = Number(/^id: (\d+)/m.exec(part)?.[1]);
              if (id < expected) counters.repeatedMessages++;
              else {
                counters.lostMessages += id - expected;
                expected = id + 1;
                counters.streamMessages++;
              }
            }
          });
          res.on('end', () => {
            counters.lostMessages += 20 - expected;
            resolve();
          });
          res.on('error', () => {
            counters.fail('sse-aborted');
            counters.lostMessages += 20 - expected;
            resolve();
          });
        })
        .on('error', (err) => {
          counters.fail(`sse-${err.code ?? err.message}`);
          resolve();
        });
    });
  }
}

/** WebSocket sessions of 25 messages each; every echo must come back once, in order. */
async function wsWorker(url, counters, running) {
  while (running()) {
    counters.requests++;
    await new Promise((resolve) => {
      const ws = new WebSocket(url.replace('http', 'ws'));
      let sent = 0;
      let received = 0;
      const finish = (cause) => {
        if (cause) counters.fail(cause);
        counters.lostMessages += sent - received;
        ws.terminate();
        resolve();
      };
      ws.on('open', () => ws.send(String(sent++)));
      ws.on('message', (data) => {
        const value = Number(String(data).split(':')[1]);
        if (value !== received) counters.repeatedMessages++;
        received++;
        counters.wsMessages++;
        if (sent < 25) setTimeout(() => ws.readyState === WebSocket.OPEN && ws.send(String(sent++)), 10);
        else finish();
      });
      ws.on('error', (err) => finish(`ws-${err.code ?? err.message}`));
      ws.on('close', (code) => received < 25 && finish(`ws-closed-${code}`));
    });
  }
}

/** Saves a new version and waits until it answers, so every save is a real switch. */
async function saveAndWait(url, config, version) {
  writeFileSync(config, JSON.stringify({ version }));
  for (let tries = 0; tries < 500; tries++) {
    const res = await httpRequest(false, url, 'GET', '/');
    if (res.status === 200 && JSON.parse(res.body).version === version) return;
    await sleep(10);
  }
  throw new Error(`version ${version} was never served`);
}

/** Runs the soak and returns its measurements. */
export async function soak({ reloads = 200, httpClients = 8, sseClients = 2, wsClients = 2, reloadGapMs = 60 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-soak-'));
  const config = path.join(dir, 'gateway.json');
  writeFileSync(config, JSON.stringify({ version: 'v0' }));
  const baton = await startBaton(config);
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: httpClients });
    // Requests are held until generation 1 is healthy; retry only while baton binds its port.
    let warm = await httpRequest(false, baton.url, 'GET', '/');
    for (let i = 0; i < 100 && warm.error === 'ECONNREFUSED'; i++) {
      await sleep(20);
      warm = await httpRequest(false, baton.url, 'GET', '/');
    }
    if (warm.status !== 200) throw new Error(`baton did not serve: ${warm.error ?? warm.status}`);
    await sleep(300);
    const before = procSample(baton.child.pid);
    const counters = new Counters();
    let running = true;
    const isRunning = () => running;
    const workers = [
      ...Array.from({ length: httpClients }, (_, i) => httpWorker(baton.url, agent, counters, isRunning, i)),
      ...Array.from({ length: sseClients }, () => sseWorker(baton.url, counters, isRunning)),
      ...Array.from({ length: wsClients }, () => wsWorker(baton.url, counters, isRunning)),
    ];
    const started = Date.now();
    let peakRssMiB = before.rssMiB;
    for (let i = 1; i <= reloads; i++) {
      await saveAndWait(baton.url, config, `v${i}`);
      peakRssMiB = Math.max(peakRssMiB, procSample(baton.child.pid).rssMiB);
      await sleep(reloadGapMs);
    }
    running = false;
    await Promise.all(workers);
    agent.destroy();
    // One quiet reload retires the generation whose agent pooled the load's upstream
    // sockets, so the end sample compares like with like: one idle generation, as at start.
    await saveAndWait(baton.url, config, 'final');
    await sleep(300);
    const after = procSample(baton.child.pid);
    const gatewaysAlive = countChildren(baton.child.pid, (cmdline) => !cmdline.includes('baton-lifeline') && !cmdline.includes('baton-standby'));
    const standbysAlive = countChildren(baton.child.pid, (cmdline) => cmdline.includes('baton-standby'));
    return {
      reloads,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      requests: counters.requests,
      failedRequests: counters.failed,
      failureCauses: counters.causes,
      streamMessages: counters.streamMessages,
      wsMessages: counters.wsMessages,
      lostStreamMessages: counters.lostMessages,
      repeatedStreamMessages: counters.repeatedMessages,
      batonRssMiB: { start: before.rssMiB, end: after.rssMiB, peak: peakRssMiB },
      batonFds: { start: before.fds, end: after.fds },
      gatewaysAliveAtEnd: gatewaysAlive,
      standbysAliveAtEnd: standbysAlive,
      batonErrors: baton.errors().trim().split('\n').filter(Boolean),
    };
  } finally {
    baton.child.kill('SIGTERM');
    await new Promise((resolve) => baton.child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Live children of baton whose command line passes `which`: the gateways (each its own
 * process group leader) are those that are neither the lifeline watchdog nor the standby
 * waiting to become the next instance.
 */
function countChildren(batonPid, which) {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== batonPid || fields[0] === 'Z' || !isAlive(Number(entry))) continue;
      if (which(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) count++;
    } catch {
      // gone while reading
    }
  }
  return count;
}

function table(result) {
  return [
    '| measure | value |',
    '|---|---|',
    `| reloads | ${result.reloads} in ${result.seconds} s |`,
    `| requests / streams / sessions | ${result.requests} |`,
    `| failed requests | ${result.failedRequests} ${Object.keys(result.failureCauses).length ? JSON.stringify(result.failureCauses) : ''} |`,
    `| SSE messages / WebSocket echoes | ${result.streamMessages} / ${result.wsMessages} |`,
    `| lost / repeated stream messages | ${result.lostStreamMessages} / ${result.repeatedStreamMessages} |`,
    `| baton RSS start → end (peak) | ${result.batonRssMiB.start} → ${result.batonRssMiB.end} MiB (${result.batonRssMiB.peak}) |`,
    `| baton open fds start → end | ${result.batonFds.start} → ${result.batonFds.end} |`,
    `| gateway processes alive at end | ${result.gatewaysAliveAtEnd} |`,
    `| standbys waiting at end (lifecycle/standby.ts) | ${result.standbysAliveAtEnd} |`,
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const flag = process.argv.indexOf('--reloads');
  const reloads = flag > 0 ? Number(process.argv[flag + 1]) : 200;
  const result = await soak({ reloads });
  console.log(table(result));
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench/results/soak.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('\nwritten: bench/results/soak.json');
  const clean = result.failedRequests === 0 && result.lostStreamMessages === 0 && result.repeatedStreamMessages === 0 && result.gatewaysAliveAtEnd === 1 && result.standbysAliveAtEnd <= 1;
  process.exitCode = clean ? 0 : 1;
}
