#!/usr/bin/env node
// What observe/ costs per request with nothing else around it: one fixed exchange (a
// request head, a 200 response head, a 230-byte body) traced a million times through
// ExchangeTrace into GenerationStats, with the inspector off (--record 0) and on
// (--record 2 and 8 MiB, which also copies heads and body bytes into the ring). Runs on
// the built package (npm run build first). The wrk rounds of recording-cost.mjs show the
// same cost inside the whole data path; this shows it alone, where it is not lost in
// the machine's noise.
//
//   node bench/recording-micro.mjs [--requests 1000000]
import { ExchangeTrace } from '../dist/observe/exchange-trace.js';
import { GenerationStats } from '../dist/observe/generation-stats.js';
import { RequestRing } from '../dist/observe/request-ring.js';
import { flag, printMachine, table, runIfMain } from './lib/util.mjs';

const REQUEST_HEAD = 'GET /api/users?id=42 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk/4.2\r\nAccept: */*\r\n';
const RESPONSE_HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 230\r\n';
const BODY = Buffer.alloc(230, 'x');

export async function recordingMicro(argv = process.argv) {
  printMachine();
  const requests = flag('requests', 1_000_000, argv);
  const rows = [];
  for (const mib of [0, 2, 8]) {
    const observer = { ring: new RequestRing(mib * 1048576, 16384), unrouted: new GenerationStats() };
    const generation = { id: 1, stats: new GenerationStats() };
    const run = (n) => {
      for (let i = 0; i < n; i++) {
        const trace = new ExchangeTrace(observer, 'GET', '/api/users?id=42', REQUEST_HEAD);
        trace.responded(RESPONSE_HEAD);
        trace.bodyOut(BODY);
        trace.end(generation, 200, false);
      }
    };
    run(200_000); // warm-up: optimised code, the ring full and wrapping
    const t0 = process.hrtime.bigint();
    run(requests);
    rows.push([mib ? `--record ${mib} (accounting + inspector)` : '--record 0 (accounting only)', (Number(process.hrtime.bigint() - t0) / requests / 1000).toFixed(2)]);
  }
  const md = table(['mode', 'µs per request'], rows);
  console.log(`\n## recording micro: ${requests.toLocaleString('en')} exchanges per mode\n\n${md}\n`);
  return { rows, md };
}

runIfMain(import.meta.url, () => recordingMicro());
