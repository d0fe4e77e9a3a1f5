/**
 * report.html in a real headless browser: Debian's chromium driven by playwright-core. The page
 * must draw the graph and the matrix from its own inline markup and script, the filters must
 * change what is shown, and it must ask for nothing over the network.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { runReport } from '../../src/report/run-report.js';
import { windowEndingAt } from '../../src/report/window.js';
import { examplePolicyDir, projectRoot } from '../support/server-process.js';
import { exampleInventoryYaml, ids, logLine, principal, scratch } from './fixtures.js';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const present = existsSync(chromiumPath);
if (!present) {
  // Loud on purpose: a skipped browser test must not pass for a green one.
  console.warn(`report.html browser test SKIPPED: ${chromiumPath} is missing; install it with "apt-get install -y chromium" (npm run test:browser does).`);
}
const describeInBrowser = present ? describe : describe.skip;

describeInBrowser('report.html in headless chromium', () => {
  let dir: Awaited<ReturnType<typeof scratch>>;
  let browser: Browser;
  let page: Page;
  const outside: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    dir = await scratch('browser');
    const now = Date.parse('2025-01-31T12:00:00Z');
    const log = [
      logLine({ time: '2025-01-31T11:00:00Z', principal: principal(ids.frontend), resource: 'orders.shop', action: 'GET', decision: 'allow', policies: ['frontend-reads-orders'] }),
      logLine({ time: '2025-01-31T11:05:00Z', principal: principal(ids.prometheus), resource: 'catalog.shop', action: 'GET', decision: 'allow', policies: ['monitoring-scrapes-metrics'] }),
      logLine({ time: '2025-01-31T11:10:00Z', principal: principal(ids.builder), resource: 'orders.shop', action: 'POST', decision: 'deny', policies: ['no-build-jobs-in-shop'] }),
    ].join('\n');
    const outcome = await runReport({
      policyDir: examplePolicyDir,
      inventoryFile: await dir.write('inventory.yaml', exampleInventoryYaml),
      logFiles: [await dir.write('decisions.jsonl', log)],
      window: windowEndingAt(now, 86_400_000),
      since: '24h',
      outDir: join(dir.dir, 'out'),
      denyThreshold: 1,
      sourceIp: '10.0.0.1',
      generatedAt: new Date(now),
      stdin: process.stdin,
    });
    if (!outcome.ok) throw new Error(outcome.problems.join('\n'));

    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(join(dir.dir, 'out', 'report.html')).href);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dir?.remove();
  });

  const visibleRows = () => page.locator('#matrix-table tbody tr:visible').count();
  const visibleEdges = () => page.locator('#graph-svg .edge:not(.off)').count();

  test('draws the graph and the matrix, with no script error and no request outside the file', async () => {
    const graph = await page.locator('#graph-svg').boundingBox();
    expect(graph?.width).toBeGreaterThan(500);
    expect(graph?.height).toBeGreaterThan(100);
    // Six identities of the inventory plus the anonymous caller may call something; 17 pairs.
    expect(await visibleEdges()).toBe(17);
    expect(await page.locator('#graph-svg .node:not(.off)').count()).toBe(7 + 4);
    // The 17 pairs with access, and the build job's denied POST to orders.shop.
    expect(await visibleRows()).toBe(18);
    expect(await page.locator('#row-count').textContent()).toBe('18 of 18 rows');
    expect(await page.locator('#findings-table tbody tr').count()).toBeGreaterThan(5);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
  });

  test('filters change what the matrix and the graph show', async () => {
    await page.selectOption('#f-cns', 'monitoring');
    expect(await visibleRows()).toBe(4);
    expect(await visibleEdges()).toBe(4);
    expect(await page.locator('#row-count').textContent()).toBe('4 of 18 rows');

    await page.selectOption('#f-sns', 'registry');
    expect(await visibleRows()).toBe(1);

    await page.click('#f-reset');
    await page.selectOption('#f-cls', 'build');
    // The builder's artifact pulls and its denied POST to the shop.
    expect(await visibleRows()).toBe(2);

    await page.selectOption('#f-act', 'POST');
    expect(await visibleRows()).toBe(0);
    await page.selectOption('#f-cls', '');
    // checkout → orders and payments, reconciler → three shop services.
    expect(await visibleRows()).toBe(5);
    expect(await visibleEdges()).toBe(5);
    expect(await page.locator('#graph-svg .node:not(.off)').count()).toBe(2 + 3);
    expect(await page.locator('th.hl').textContent()).toBe('POST');

    await page.click('#f-reset');
    expect(await visibleRows()).toBe(18);
  });

  test('a screenshot for people: test-artifacts/report.png', async () => {
    const artifacts = join(projectRoot, 'test-artifacts');
    await mkdir(artifacts, { recursive: true });
    const file = join(artifacts, 'report.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = await readFile(file);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
  });
});
