import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BatonProcess, FIXTURE } from './helpers/baton-process.js';
import { saveAtomically, sleep, writeConfig } from './helpers/files.js';
import { getJson, waitForVersion } from './helpers/http.js';
import { useHarness } from './helpers/harness.js';

const h = useHarness();

describe('watching', () => {
  it('a folder: editor temp files, .git, node_modules and --ignore patterns never trigger a reload', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    mkdirSync(h.tmp.file('.git'));
    mkdirSync(h.tmp.file('node_modules'));
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '-w', h.tmp.dir, '--ignore', '*.log', '--ignore', 'out/**', '--', 'node', FIXTURE, config], { cwd: h.tmp.dir });
    const url = await h.baton.url();
    await h.baton.serving(1);

    mkdirSync(h.tmp.file('out'));
    for (const name of ['.gateway.json.swp', 'gateway.json~', '4913', '.#gateway.json', 'gateway.json___jb_tmp___', 'x.tmp', '.git/index', 'node_modules/a.js', 'gateway.log', 'out/compiled.json']) {
      writeFileSync(h.tmp.file(name), `noise ${Date.now()}`);
    }
    await sleep(400);
    expect(h.baton.events.filter((e) => e.type === 'change')).toEqual([]);

    // A real edit in the same folder still reloads: the watcher was live all along.
    writeFileSync(h.tmp.file('routes.json'), '{}');
    await h.baton.serving(2);
    expect(h.baton.events.filter((e) => e.type === 'change')).toHaveLength(1);
    expect((await getJson(url)).version).toBe('v1');
  });

  it('an atomic save (write a temp file, rename over) reloads, and watching continues after it', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    // The fixture reads argv[2]; `-c config` as well makes baton's default --watch that one file.
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--', 'node', FIXTURE, config, '-c', config], { cwd: h.tmp.dir });
    const url = await h.baton.url();
    const listening = await h.baton.waitFor((e) => e.type === 'listening');
    expect(listening.watch).toEqual([config]);
    await h.baton.serving(1);

    saveAtomically(config, JSON.stringify({ version: 'v2' }));
    await h.baton.serving(2);
    expect((await getJson(url)).version).toBe('v2');
    saveAtomically(config, JSON.stringify({ version: 'v3' }));
    await h.baton.serving(3);
    expect((await getJson(url)).version).toBe('v3');
  });

  it('a watched file deleted and created again reloads with the new content', async () => {
    const config = h.tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    h.baton = BatonProcess.start(['-p', '0', '--debounce', '50', '-w', h.tmp.dir, '--', 'node', FIXTURE, config], { cwd: h.tmp.dir });
    const url = await h.baton.url();
    await h.baton.serving(1);
    renameSync(config, h.tmp.file('moved-away.bak'));
    await sleep(150);
    writeConfig(config, { version: 'v2' });
    await waitForVersion(url, 'v2');
  });
});
