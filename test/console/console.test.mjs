// Browser tests of ragd's web console: Debian's Chromium driven by
// playwright-core against a real ragd (cmd/ragd/console_test.go starts it
// and passes RAGD_URL and RAGD_KEY, an admin key). Every step waits on a
// condition in the page, never on a fixed sleep. Screenshots of each page
// go to RAGD_SCREENSHOTS (docs/console/ when run by the Go test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.RAGD_URL;
const key = process.env.RAGD_KEY;
const testdata = process.env.RAGD_TESTDATA;
const shots = process.env.RAGD_SCREENSHOTS;
const executablePath = process.env.RAGD_CHROMIUM || '/usr/bin/chromium';
assert.ok(base && key && testdata && shots, 'set RAGD_URL, RAGD_KEY, RAGD_TESTDATA and RAGD_SCREENSHOTS');

const pdf = join(testdata, 'pdf-pdftex/input.pdf');
const markdown = readFileSync(join(testdata, 'markdown-rustfmt/input.md'), 'utf8');
const LONG = { timeout: 60_000 };

// ragd answers the API as the console does: a bearer key.
async function apiStatus(path, secret) {
  const r = await fetch(base + '/v1' + path, { headers: { Authorization: 'Bearer ' + secret } });
  return r.status;
}

test('console', async (t) => {
  const profile = mkdtempSync(join(tmpdir(), 'ragd-console-chromium-'));
  mkdirSync(shots, { recursive: true });
  // A fresh profile; Playwright adds --headless and --no-sandbox itself.
  // The background-networking flags keep Chromium from calling Google's
  // hosts, which would also break the no-other-host check below.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  t.after(async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(20_000);
  const offsite = [];
  const problems = [];
  // Every request that goes to the network must go to ragd. Chromium's
  // own pages and resources (its PDF viewer for the cited PDF, a
  // chrome-extension: page loading chrome: resources) and blob:/data:
  // URLs never touch it.
  context.on('request', (r) => {
    const u = r.url();
    if (/^(https?|wss?|ftp):/i.test(u) && !u.startsWith(base + '/')) offsite.push(u);
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    // A refused key makes Chromium log the 401 as a failed resource load;
    // everything else logged as an error (a CSP violation, an exception)
    // is a failure.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[13]/.test(m.text())) problems.push(m.text());
  });
  // The visible part of the page: a whole page of chunks would make a
  // screenshot of megabytes.
  const shot = (name, fullPage = false) => page.screenshot({ path: join(shots, name + '.png'), fullPage });

  await t.test('the root redirects to the console, which asks for a key; a bad key says so', async () => {
    await page.goto(base + '/');
    assert.match(page.url(), /\/console\/#\/collections$/);
    await page.getByLabel('API key').fill('ragd-not-a-real-key');
    await page.keyboard.press('Enter');
    const status = page.locator('#signin-status.error');
    await status.waitFor();
    assert.match(await status.textContent(), /This API key was not accepted: .*API key/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ragd.key')), null);
    await shot('sign-in-error');
  });

  await t.test('sign in with an admin key', async () => {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Collections', level: 1 }).waitFor();
    assert.equal(await page.locator('#who').textContent(), 'admin key');
  });

  await t.test('create a collection', async () => {
    await page.getByLabel('Name', { exact: true }).fill('manuals');
    await page.getByLabel('Description').fill('R FAQ and rustfmt README');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.locator('tr[data-name="manuals"]').waitFor();
  });

  await t.test('rename a collection, then delete it after confirming', async () => {
    await page.getByLabel('Name', { exact: true }).fill('scratch');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.locator('tr[data-name="scratch"]').getByRole('button', { name: 'Rename scratch' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('New name').fill('scratch-2');
    await dlg.getByLabel('New name').press('Enter');
    await page.locator('tr[data-name="scratch-2"]').waitFor();
    await page.locator('tr[data-name="scratch-2"]').getByRole('button', { name: 'Delete scratch-2' }).click();
    assert.match(await dlg.textContent(), /cannot be undone/);
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('tr[data-name="scratch-2"]').getByRole('button', { name: 'Delete scratch-2' }).click();
    await dlg.getByRole('button', { name: 'Delete' }).click();
    await page.locator('tr[data-name="scratch-2"]').waitFor({ state: 'detached' });
    await page.locator('tr[data-name="manuals"]').waitFor();
  });

  await t.test('upload a PDF (file picker) and Markdown (drag and drop), see them complete', async () => {
    await page.locator('tr[data-name="manuals"] a').click();
    await page.getByRole('heading', { name: 'manuals', level: 1 }).waitFor();
    await page.setInputFiles('#file-input', pdf);
    const dt = await page.evaluateHandle((text) => {
      const d = new DataTransfer();
      d.items.add(new File([text], 'rustfmt.md', { type: 'text/markdown' }));
      return d;
    }, markdown);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    await page.locator('.uploads li[data-filename="input.pdf"][data-status="completed"]').waitFor(LONG);
    await page.locator('.uploads li[data-filename="rustfmt.md"][data-status="completed"]').waitFor(LONG);
    await page.locator('tr[data-filename="input.pdf"] .badge.completed').waitFor();
    await page.locator('tr[data-filename="rustfmt.md"] .badge.completed').waitFor();
    assert.match(await page.locator('tr[data-filename="input.pdf"]').textContent(), /246 KB/);
    await shot('files');
  });

  await t.test("open the PDF's chunks in order, with page numbers", async () => {
    await page.locator('tr[data-filename="input.pdf"] a').click();
    await page.getByRole('heading', { name: 'input.pdf', level: 1 }).waitFor();
    await page.locator('ol.chunks li').first().waitFor();
    const heads = await page.locator('ol.chunks li h3').allTextContents();
    assert.match(heads[0], /^Chunk 1 · page 1/);
    assert.ok(heads.some((x) => /page 12\b/.test(x)), `no chunk on page 12: ${heads.join(' | ')}`);
    await shot('browse');
    await page.getByRole('link', { name: 'manuals' }).click();
    await page.getByRole('link', { name: 'Items' }).click();
    await page.locator('table caption', { hasText: 'Items' }).waitFor();
    assert.equal(await page.locator('table tbody tr').count(), 2);
  });

  await t.test('search with the keyboard: the expected passage comes first, its words marked', async () => {
    await page.getByRole('link', { name: 'Search', exact: true }).first().click();
    const query = page.getByLabel('Query');
    await query.waitFor();
    await query.focus();
    await page.keyboard.type('mailing lists devoted to R');
    await page.keyboard.press('Enter');
    const first = page.locator('#results li.result').first();
    await first.waitFor();
    const text = await first.textContent();
    assert.match(text, /several mailing lists devoted to R/);
    assert.match(text, /input\.pdf/);
    assert.match(text, /page 12/);
    const marked = await first.locator('mark').allTextContents();
    assert.ok(marked.some((m) => m.toLowerCase() === 'mailing'), `marked words: ${marked}`);
    assert.match(await page.locator('#search-status').textContent(), /results? in \d+ ms/);
    await shot('search');

    // The filter builder: only the Markdown file's passages.
    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.getByLabel('Key', { exact: true }).fill('filename');
    await page.getByLabel('Value', { exact: true }).fill('rustfmt.md');
    await query.fill('configuration file');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('#results li.result').first().waitFor();
    const files = await page.locator('#results li.result header a').allTextContents();
    assert.ok(files.length > 0 && files.every((f) => f === 'rustfmt.md'), `filtered results: ${files}`);

    // Mode and top_k: one keyword result.
    await page.getByRole('group', { name: 'Filter' }).getByRole('button', { name: 'Remove' }).click();
    await page.getByLabel('Mode').selectOption('keyword');
    await page.getByLabel('Results (top_k)').fill('1');
    await query.fill('mailing lists devoted to R');
    await query.press('Enter');
    await page.locator('#search-status', { hasText: /^1 result in \d+ ms/ }).waitFor();
    assert.equal(await page.locator('#results li.result').count(), 1);
  });

  await t.test('ask a RAG question: the streamed answer cites its passage, which opens with its page, and the PDF at that page', async () => {
    await page.getByRole('link', { name: 'Chat', exact: true }).first().click();
    const q = page.getByLabel('Question');
    await q.waitFor();
    await q.fill('What mailing lists are devoted to R?');
    await q.press('Enter');
    const cite = page.locator('.msg.assistant .answer button.cite').first();
    await cite.waitFor(LONG);
    assert.match(await page.locator('.msg.assistant .answer').textContent(), /mailing lists devoted to R/);
    await cite.click();
    const dlg = page.locator('dialog[open]');
    await dlg.waitFor();
    assert.match(await dlg.locator('.source-where').textContent(), /input\.pdf · page 12/);
    assert.match(await dlg.locator('pre.passage').textContent(), /several mailing lists devoted to R/);
    await shot('chat');
    // The PDF itself, at the cited page, in Chromium's viewer.
    const [pdfTab] = await Promise.all([context.waitForEvent('page'), dlg.getByRole('button', { name: 'Open the PDF at page 12' }).click()]);
    assert.match(pdfTab.url(), /^blob:.*#page=12$/);
    await pdfTab.close();
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
  });

  await t.test('operations: usage, logs, health; a key created (its secret shown once) and revoked; a webhook and its deliveries', async () => {
    await page.getByRole('link', { name: 'Operations' }).click();
    await page.locator('svg.chart.requests').waitFor();
    const today = await page.locator('svg.chart.requests rect').last().getAttribute('height');
    assert.ok(Number(today) > 0, `today's requests bar is ${today} high`);
    await page.locator('#health .badge.ok').first().waitFor();
    await page.locator('#logs tbody tr').first().waitFor();
    await page.locator('#key-name').fill('ci-console');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = page.locator('dialog[open] #new-secret');
    await secret.waitFor();
    const value = await secret.textContent();
    assert.match(value, /^ragd-/);
    assert.equal(await apiStatus('/vector_store', value), 200);
    await page.getByRole('button', { name: 'Close' }).click();
    await page.locator('tr[data-key="ci-console"]').waitFor();
    await shot('operations', true);
    await page.locator('tr[data-key="ci-console"]').getByRole('button', { name: /Revoke/ }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Revoke' }).click();
    await page.locator('tr[data-key="ci-console"]').waitFor({ state: 'detached' });
    assert.equal(await apiStatus('/vector_store', value), 401);

    await page.getByLabel('URL').fill('http://127.0.0.1:9/ragd-hook');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.locator('dialog[open] #new-secret', { hasText: /^whsec_/ }).waitFor();
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'Deliveries' }).click();
    await page.locator('dialog[open]', { hasText: 'Deliveries to http://127.0.0.1:9/ragd-hook' }).waitFor();
    await page.keyboard.press('Escape');
  });

  await t.test('collections list with counts; a phone-width screen has no horizontal scroll', async () => {
    await page.getByRole('link', { name: 'Collections' }).first().click();
    const row = page.locator('tr[data-name="manuals"]');
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 4), ['ragd-static', '2', '2', '51']);
    await shot('collections');
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, heading, ready] of [['#/collections', 'Collections', 'tr[data-name="manuals"]'], ['#/search', 'Search', '#query'],
      ['#/chat', 'Chat', '#question'], ['#/ops', 'Operations', 'svg.chart.tokens']]) {
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.locator(ready).first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${hash} is ${width} px wide on a 390 px screen`);
    }
    await page.evaluate(() => { location.hash = '#/collections'; });
    await page.locator('tr[data-name="manuals"]').waitFor();
    await shot('collections-phone');
  });

  await t.test("download a file's original; delete a file after confirming", async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.locator('tr[data-name="manuals"] a').click();
    const row = page.locator('tr[data-filename="input.pdf"]');
    await row.waitFor();
    const [dl] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Download input.pdf' }).click()]);
    assert.equal(dl.suggestedFilename(), 'input.pdf');
    assert.equal(statSync(await dl.path()).size, statSync(pdf).size);
    const md = page.locator('tr[data-filename="rustfmt.md"]');
    await md.getByRole('button', { name: 'Delete rustfmt.md' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
    await md.waitFor({ state: 'detached' });
    await row.waitFor();
  });

  await t.test('no request left ragd, nothing was refused by the CSP or thrown', () => {
    assert.deepEqual(offsite, []);
    assert.deepEqual(problems, []);
  });
});
