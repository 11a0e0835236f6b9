#!/usr/bin/env node
// `npm run bench`: every scenario, one after another, bounded (about 5 minutes; --long for
// longer runs). Each prints its markdown tables and writes bench/results/<scenario>.json
// and .svg. Peers that are not installed (caddy, nginx, reflex) are skipped with a message.
//
//   npm run bench
//   npm run bench -- --long
//   npm run bench -- --only overhead,compare
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { compare } from '../dist/tools/compare.js';
import { canaryCost } from './canary-cost.mjs';
import { growth } from './growth.mjs';
import { overheadScenario } from './overhead.mjs';
import { recordingCost } from './recording-cost.mjs';
import { recordingMicro } from './recording-micro.mjs';
import { reloadScenario } from './reload.mjs';
import { flag, FIXTURE, installed, isLong, printMachine, ROOT, tempDir } from './lib/util.mjs';

/** Where `baton compare` prints, inside the bench: results to stdout, warnings to stderr. */
const io = { log: (text) => console.log(text), warn: (text) => console.error(text) };

/**
 * The default comparison (`baton compare`'s own code): Caddy without vs with an access
 * log; an A/A run of the fixture without Caddy. Results go to bench/results/compare.*.
 */
function compareScenario(argv) {
  const long = isLong(argv);
  const timing = { pairs: long ? 6 : 3, seconds: long ? 10 : 2, out: path.join(ROOT, 'bench/results') };
  if (installed('caddy')) {
    return compare({
      a: path.join(ROOT, 'bench/configs/caddy-a.Caddyfile'),
      b: path.join(ROOT, 'bench/configs/caddy-b.Caddyfile'),
      command: ['caddy', 'run', '--config', '{config}', '--adapter', 'caddyfile'],
      ...timing,
    }, io);
  }
  console.log('SKIPPED the Caddy access-log comparison: caddy is not installed (apt-get install caddy); running an A/A comparison of the fixture gateway instead');
  const dir = tempDir();
  for (const side of ['a', 'b']) writeFileSync(path.join(dir, `${side}.json`), JSON.stringify({ version: side }));
  return compare({ a: path.join(dir, 'a.json'), b: path.join(dir, 'b.json'), command: ['node', FIXTURE, '{config}'], ...timing }, io);
}

const SCENARIOS = { overhead: overheadScenario, reload: reloadScenario, compare: compareScenario, recording: async (argv) => { await recordingMicro(argv); await recordingCost(argv); }, canary: canaryCost, growth };

async function main() {
  const argv = process.argv;
  const only = flag('only', Object.keys(SCENARIOS).join(','), argv).split(',');
  const t0 = performance.now();
  printMachine();
  let failed = 0;
  for (const name of only) {
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
    const started = performance.now();
    try {
      await scenario(argv);
    } catch (err) {
      failed++;
      console.error(`scenario ${name} failed:`, err);
    }
    console.log(`(${name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  console.log(`\nbench finished in ${((performance.now() - t0) / 1000).toFixed(0)} s${failed ? `, ${failed} scenario(s) failed` : ''}`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
