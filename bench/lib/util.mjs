// Small helpers shared by the bench scripts: paths, machine facts, stats, tables, results.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');
export const FIXTURE = path.join(ROOT, 'test/fixtures/gateway.mjs');
export const RESULTS = path.join(ROOT, 'bench/results');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const now = () => performance.now();

/** The facts a reader needs to weigh the numbers, read at run time. */
export function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

export function printMachine() {
  const m = machine();
  console.log(`machine: ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB RAM, Node ${m.node}, ${m.os}`);
  return m;
}

/** True when an executable `cmd` is on PATH. */
export function installed(cmd) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A version string for the tables, or undefined. */
export function versionOf(cmd, arg) {
  try {
    return execFileSync(cmd, [arg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 }).trim().split('\n')[0];
  } catch (err) {
    return err.stderr?.toString().trim().split('\n')[0];
  }
}

const temps = [];
process.on('exit', () => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A temp folder removed when the process exits. */
export function tempDir(prefix = 'baton-bench-') {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

// Statistics and tables are the shipped package's (src/tools/stats.ts).
export { fmt, maxOf, mean, median, minOf, percentile, stddev, table } from '../../dist/tools/stats.js';

/** Writes bench/results/<name>.json (and .svg when given); returns the paths. */
export function writeResults(name, json, svg) {
  mkdirSync(RESULTS, { recursive: true });
  const jsonPath = path.join(RESULTS, `${name}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
  const out = { json: path.relative(ROOT, jsonPath) };
  if (svg) {
    const svgPath = path.join(RESULTS, `${name}.svg`);
    writeFileSync(svgPath, svg);
    out.svg = path.relative(ROOT, svgPath);
  }
  console.log(`wrote ${out.json}${out.svg ? ` and ${out.svg}` : ''}`);
  return out;
}

/** `--long` anywhere in argv. */
export const isLong = (argv = process.argv) => argv.includes('--long');

/** Reads `--name value` from argv, with a default. */
export function flag(name, fallback, argv = process.argv) {
  const i = argv.indexOf(`--${name}`);
  if (i === -1 || i + 1 >= argv.length) return fallback;
  const value = argv[i + 1];
  return typeof fallback === 'number' ? Number(value) : value;
}

/** Runs `scenario` when `moduleUrl` is the script node was started with; exits 0, or 1 with the error. */
export function runIfMain(moduleUrl, scenario) {
  if (moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  scenario().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
