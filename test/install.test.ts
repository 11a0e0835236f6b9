import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE, ROOT } from './helpers/baton-process.js';
import { tempDir, writeConfig } from './helpers/files.js';

// The package as a user gets it: `npm pack`, installed into a clean folder with no
// network (the dependencies come from npm's cache, at the versions of our lockfile), and
// run from there — `--version`, `--help`, a real reload, `baton compare` and
// `baton bench reload`. What the tarball holds is checked against what the README links to.

interface LockEntry {
  version: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  [key: string]: unknown;
}

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; engines: unknown; bin: Record<string, string> };
const tmp = tempDir();
let installed: string;
let tarball: string;

/**
 * A lockfile for a project that depends on the tarball alone: our own lock's production
 * entries, each with the registry address npm's cache knows it by.
 */
function lockFor(tgz: string): unknown {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'install-check', version: '1.0.0', dependencies: { [pkg.name]: `file:${tgz}` } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: `file:${tgz}`, integrity, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || entry.dev) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages[key] = { ...entry, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz` };
  }
  return { name: 'install-check', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

beforeAll(() => {
  // `npm test` built dist already; --ignore-scripts keeps pack from building again.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.dir], { cwd: ROOT, encoding: 'utf8' })) as Array<{ filename: string }>;
  tarball = path.join(tmp.dir, packed[0]!.filename);
  const project = tmp.file('project');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'install-check', version: '1.0.0', private: true, dependencies: { [pkg.name]: `file:${tarball}` } }));
  writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(lockFor(tarball)));
  execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project, encoding: 'utf8', stdio: 'pipe' });
  installed = path.join(project, 'node_modules/.bin/baton');
}, 120_000);
afterAll(() => tmp.remove());

const run = (args: string[], cwd = tmp.dir): { status: number | null; stdout: string; stderr: string } => {
  const result = spawnSync(installed, args, { cwd, encoding: 'utf8', timeout: 90_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

describe(`the packed package (${pkg.name})`, () => {
  it('installs without the network and answers --version and --help', () => {
    expect(run(['--version'])).toMatchObject({ status: 0, stdout: `${pkg.version}\n` });
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: baton \[options\] -- <gateway command\.\.\.>/);
    expect(help.stdout).toContain('baton compare --a <config> --b <config>');
  });

  it('ships what the README links to, source maps with their sources, and no tests', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').map((f) => f.replace(/^package\//, ''));
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)].map((m) => m[1]!.replace(/\/$/, ''));
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) expect(files.some((f) => f === link || f.startsWith(`${link}/`)), `README links to ${link}`).toBe(true);
    for (const map of files.filter((f) => f.endsWith('.js.map'))) {
      const sources = (JSON.parse(execFileSync('tar', ['-xzOf', tarball, `package/${map}`], { encoding: 'utf8' })) as { sources: string[] }).sources;
      for (const source of sources) expect(files, `${map} points at ${source}`).toContain(path.posix.normalize(path.posix.join(path.posix.dirname(map), source)));
    }
    expect(files).toContain('LICENSE');
    expect(files.some((f) => f.startsWith('test/'))).toBe(false);
  });

  it('reloads a real gateway from the installed copy', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    const baton = BatonProcess.raw(['--json', '-p', '0', '--debounce', '20', '-w', config, '--', 'node', FIXTURE, config], { cwd: tmp.dir, bin: installed });
    try {
      await baton.serving(1);
      writeConfig(config, { version: 'v2' });
      await baton.serving(2);
      expect((await baton.stop()).code).toBe(0);
    } finally {
      await baton.kill();
    }
  });

  it('runs baton compare and baton bench reload from the installed copy', () => {
    writeConfig(tmp.file('a.json'), { version: 'a' });
    writeConfig(tmp.file('b.json'), { version: 'b' });
    const compared = run(['compare', '--a', 'a.json', '--b', 'b.json', '--pairs', '1', '--seconds', '1', '--connections', '2', '--json', '--out', tmp.file('out'), '--', 'node', FIXTURE, '{config}']);
    expect(compared.status, compared.stderr).toBe(0);
    expect((JSON.parse(compared.stdout) as { rounds: unknown[] }).rounds).toHaveLength(2);
    const config = tmp.file('bench.json');
    writeConfig(config, { version: 'v1' });
    const bench = run(['bench', 'reload', '--reloads', '2', '--clients', '2', '--gap', '100', '--json', '--out', tmp.file('out'), '--', 'node', FIXTURE, config, '-c', config]);
    expect(bench.status, bench.stderr).toBe(0);
    expect(JSON.parse(bench.stdout)).toMatchObject({ failed: 0, options: { trigger: 'save' } });
    expect(readdirSync(tmp.file('out')).sort()).toEqual(['compare.html', 'compare.json', 'compare.md', 'compare.svg', 'reload-bench.html', 'reload-bench.json', 'reload-bench.md', 'reload-bench.svg']);
  });
});
