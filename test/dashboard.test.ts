import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

declare global {
  // The page's document, inside page.waitForFunction (the tests compile without the DOM lib).
  var document: { querySelectorAll(selector: string): { length: number } };
}
import { BatonProcess, FIXTURE, ROOT } from './helpers/baton-process.js';
import { tempDir, writeConfig, writeText } from './helpers/files.js';
import { request } from './helpers/http.js';

// The dashboard in a real browser: Debian's chromium-headless-shell (or chromium), driven
// by playwright-core through executablePath (no browser download). It must load with no
// console error, show the generations of a run, update live after a save, show a
// rejected save with the gateway's error line, and filter the inspector. A screenshot
// goes to docs/img/dashboard.png for the README (BATON_SCREENSHOT=1 npx vitest run test/dashboard.test.ts).

const BROWSERS = ['/usr/bin/chromium-headless-shell', '/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium'];
const executable = BROWSERS.find((file) => existsSync(file));
if (!executable) console.log(`SKIPPED: the dashboard test needs a Chromium (${BROWSERS.join(', ')}); Debian: apt-get install chromium-headless-shell (.ci/run installs it as root).`);

/** A headless Chromium with one page whose console errors, page errors and failed requests go to `problems`. */
async function openBrowser(problems: string[]): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  return { browser, page };
}

describe.skipIf(!executable)('the dashboard, in headless Chromium', () => {
  const tmp = tempDir();
  const config = tmp.file('gateway.json');
  let baton: BatonProcess;
  let browser: Browser;
  let page: Page;
  let url: string;
  let admin: string;
  const problems: string[] = [];

  beforeAll(async () => {
    writeConfig(config, { version: 'v1', metrics: { portEnv: 'BATON_PORT_METRICS' } });
    baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--side-port', '0:metrics', '-w', config, '--', 'node', FIXTURE, config], { cwd: tmp.dir });
    const listening = await baton.waitFor((e) => e.type === 'listening');
    url = listening.url as string;
    admin = listening.admin as string;
    await baton.serving(1);
    ({ browser, page } = await openBrowser(problems));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await baton?.kill();
    tmp.remove();
  });

  it('loads with no console error and shows the serving generation', async () => {
    await page.goto(admin);
    await page.locator('.lane[data-gen="1"] .pill.serving').waitFor();
    expect(await page.locator('header .serving').textContent()).toBe('gen 1 serving');
    // The public side: the side port and its URL.
    expect(await page.locator('header .side').textContent()).toMatch(/^metrics http:\/\/127\.0\.0\.1:\d+$/);
    await page.locator('header .live.on').waitFor();
    expect(problems).toEqual([]);
  });

  it('updates without a page reload: a save shows its generation, traffic shows in the inspector', async () => {
    for (let i = 0; i < 5; i++) await request(`${url}/hello-${i}`);
    await request(`${url}/needle`);
    writeConfig(config, { version: 'v2', routes: 'more', metrics: { portEnv: 'BATON_PORT_METRICS' } });
    await baton.serving(2);
    await page.locator('.lane[data-gen="2"] .pill.serving').waitFor();
    await page.locator('.lane[data-gen="1"] .pill.stopped').waitFor();
    expect(await page.locator('.lane[data-gen="2"] .changes').textContent()).toBe('gateway.json: +2 −1');
    await page.locator('tr.row td.target', { hasText: '/needle' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('shows a rejected save with the gateway’s error line', async () => {
    writeText(config, '{ "version": "v3", broken');
    const rejected = await baton.waitFor((e) => e.type === 'rejected');
    const lane = page.locator(`.lane[data-gen="${rejected.gen as number}"]`);
    await lane.locator('.pill.rejected').waitFor();
    await lane.locator('.output', { hasText: 'ERROR parsing the configuration file' }).waitFor();
    expect(await page.locator('header .serving').textContent()).toBe('gen 2 serving');
  });

  it('filters the inspector, shows a request with its headers and body, and the diff of a generation', async () => {
    await page.fill('input.filter', 'needle');
    await page.waitForFunction(() => globalThis.document.querySelectorAll('tr.row').length === 1);
    expect(await page.locator('tr.row td.target').allTextContents()).toEqual(['/needle']);
    await page.locator('tr.row').first().click();
    await page.locator('.detail .kv', { hasText: 'GET /needle HTTP/1.1' }).waitFor();
    await page.locator('.lane[data-gen="2"]').click();
    await page.locator('pre.diff .add', { hasText: '"version": "v2"' }).waitFor();
    await page.fill('input.filter', '');
    await page.waitForFunction(() => globalThis.document.querySelectorAll('tr.row').length > 1);
    // Some seconds of traffic for the chart, then the picture for the README.
    for (let second = 0; second < 5; second++) {
      for (let i = 0; i < 20 + second * 10; i++) await request(`${url}/api/items/${i % 5}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await page.waitForTimeout(1200);
    // The README's picture is refreshed with BATON_SCREENSHOT=1; a run without it keeps the tree clean.
    const shot = process.env.BATON_SCREENSHOT === '1' ? path.join(ROOT, 'docs/img/dashboard.png') : tmp.file('dashboard.png');
    mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!executable)('the dashboard steers experiments, in headless Chromium', () => {
  const tmp = tempDir();
  const config = tmp.file('gateway.json');
  let baton: BatonProcess;
  let browser: Browser;
  let page: Page;
  let url: string;
  const problems: string[] = [];

  beforeAll(async () => {
    writeConfig(config, { version: 'v1' });
    baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--admin', '0', '--promote', 'manual', '--keep-previous', '60000', '-w', config, '--', 'node', FIXTURE, config], { cwd: tmp.dir });
    const listening = await baton.waitFor((e) => e.type === 'listening');
    url = listening.url as string;
    await baton.serving(1);
    ({ browser, page } = await openBrowser(problems));
    await page.goto(listening.admin as string);
    await page.locator('.lane[data-gen="1"] .pill.serving').waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await baton?.kill();
    tmp.remove();
  });

  it('a waiting candidate shows as preview with a Promote button that promotes it; then Rollback switches back', async () => {
    writeConfig(config, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'preview' && e.gen === 2);
    await page.locator('.lane[data-gen="2"] .pill.preview').waitFor();
    await page.locator('.lane[data-gen="2"] .notes', { hasText: 'baton-generation: 2' }).waitFor();
    await page.locator('button.promote', { hasText: 'Promote gen 2' }).click();
    await baton.serving(2);
    await page.locator('.lane[data-gen="2"] .pill.serving').waitFor();
    await page.locator('button.rollback', { hasText: 'Rollback to gen 1' }).click();
    const rolled = await baton.waitFor((e) => e.type === 'rolled-back');
    expect(rolled).toMatchObject({ gen: 2, serving: 1 });
    await page.locator('.lane[data-gen="1"] .pill.serving').waitFor();
    await page.locator('.lane[data-gen="2"] .notes', { hasText: 'rolled back' }).waitFor();
    expect(JSON.parse((await request(url)).body).version).toBe('v1');
    expect(problems).toEqual([]);
  });

  it('a canary shows its step with the set and the actual share; Abort stops it, and Promote during a step promotes', async () => {
    // A baton with a canary: the page leaves the old one first, so its polling sees no refused connection.
    expect(problems).toEqual([]);
    await page.goto('about:blank');
    problems.length = 0; // leaving cancels the old page's event stream (net::ERR_ABORTED): not a problem of the page
    await baton.kill();
    writeConfig(config, { version: 'v1' });
    baton = BatonProcess.start(['-p', '0', '--debounce', '20', '--admin', '0', '--canary', '50', '--canary-interval', '120000', '-w', config, '--', 'node', FIXTURE, config], { cwd: tmp.dir });
    const listening = await baton.waitFor((e) => e.type === 'listening');
    url = listening.url as string;
    await baton.serving(1);
    await page.goto(listening.admin as string);
    writeConfig(config, { version: 'v2' });
    await baton.waitFor((e) => e.type === 'canary' && e.gen === 2);
    await page.locator('.lane[data-gen="2"] .pill.canary', { hasText: 'canary 50 %' }).waitFor();
    await page.locator('.canary-now', { hasText: 'set 50 %, got —' }).waitFor();
    const versions = new Set<string>();
    for (let i = 0; i < 40; i++) versions.add(JSON.parse((await request(url)).body).version as string);
    expect(versions).toEqual(new Set(['v1', 'v2']));
    // The actual share is the candidate's part of the 40 requests (a coin each): some, not all.
    const shown = await page.locator('.canary-now').filter({ hasNotText: 'got —' }).textContent({ timeout: 5000 });
    const got = Number(/got ([\d.]+) %/.exec(shown ?? '')?.[1]);
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(100);
    await page.locator('button.abort').click();
    await baton.waitFor((e) => e.type === 'stopped' && e.gen === 2);
    await page.locator('.canary-now').waitFor({ state: 'detached' });

    writeConfig(config, { version: 'v3' });
    await baton.waitFor((e) => e.type === 'canary' && e.gen === 3);
    await page.locator('button.promote', { hasText: 'Promote gen 3' }).click();
    await baton.serving(3);
    await page.locator('.lane[data-gen="3"] .pill.serving').waitFor();
    expect(JSON.parse((await request(url)).body).version).toBe('v3');
    expect(problems).toEqual([]);
  });
});
