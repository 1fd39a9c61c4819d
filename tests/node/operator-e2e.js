// Drives the operator page in headless Chromium for the .NET end-to-end test (OperatorPageTests):
// an admin logs in, opens /operator and waits until every expected appliance shows as healthy,
// with its site's row and fill progress against the night window; the page refreshes by itself
// (the updated line changes without a reload). A viewer who registers is told the page is not
// for them. Screenshot: operator.png in --screenshots.
//
// Usage: node operator-e2e.js --origin URL --password ADMIN_PASSWORD --appliances ID,ID --screenshots DIR [--timeout-seconds 120]
// Prints progress lines `STEP …` and finally `RESULT {json}`.
'use strict';
const fs = require('fs');
const path = require('path');
const { runInChromium } = require('./player-page');

const REQUIRED = ['origin', 'password', 'appliances', 'screenshots'];

// --some-name value pairs into { someName: value }; every REQUIRED one must be there.
function parseArgs(argv) {
  const pairs = argv.slice(2).reduce((all, word, i, words) => (i % 2 === 0 ? [...all, [word, words[i + 1]]] : all), []);
  const args = Object.fromEntries(pairs.map(([k, v]) => [k.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase()), v]));
  const missing = REQUIRED.filter((k) => !args[k]);
  if (missing.length) { throw new Error(`missing --${missing.join(', --')}; usage: --origin URL --password ADMIN_PASSWORD --appliances ID,ID --screenshots DIR`); }
  return { ...args, timeoutSeconds: Number(args.timeoutSeconds || 120) };
}

const step = (text) => console.log('STEP ' + text);

async function main() {
  const args = parseArgs(process.argv);
  const origin = args.origin.replace(/\/$/, '');
  const expected = args.appliances.split(',');
  fs.mkdirSync(args.screenshots, { recursive: true });
  const timeout = args.timeoutSeconds * 1000;
  await runInChromium(async (browser, result) => {
    const admin = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    admin.on('console', (m) => { if (m.type() === 'error') { result.consoleErrors.push(m.text()); } });

    step('the admin logs in');
    await admin.goto(origin + '/login');
    await admin.fill('input[name=name]', 'admin');
    await admin.fill('input[name=password]', args.password);
    await admin.click('main form button[type=submit]');
    await admin.waitForSelector('header .user');

    step('the header links the operator page; it lists the appliances as healthy');
    await admin.click('header a[href="/operator"]');
    await admin.waitForSelector('[data-testid=fleet-summary]');
    await admin.waitForFunction((ids) => ids.every((id) => {
      const row = document.querySelector(`tr[data-appliance="${id}"]`);
      return row && row.dataset.health === 'healthy';
    }), expected, { timeout });
    // The fill progress cell is drawn from the fill controller once it knows the site.
    await admin.waitForFunction(() => [...document.querySelectorAll('tr[data-site] td.fill')].some((td) => td.textContent.includes('window')), null, { timeout });
    result.summary = await admin.textContent('[data-testid=fleet-summary]');
    result.problems = await admin.textContent('[data-testid=fleet-problems]');
    result.appliances = await admin.$$eval('tr[data-appliance]', (rows) => rows.map((r) => ({
      id: r.dataset.appliance,
      health: r.dataset.health,
      cells: [...r.querySelectorAll('td')].map((td) => td.textContent),
    })));
    result.sites = await admin.$$eval('tr[data-site]', (rows) => rows.map((r) => ({
      site: r.dataset.site,
      cells: [...r.querySelectorAll('td')].map((td) => td.textContent),
    })));

    step('the page refreshes by itself');
    const updated = await admin.textContent('[data-testid=fleet-updated]');
    await admin.waitForFunction((before) => document.querySelector('[data-testid=fleet-updated]').textContent !== before, updated, { timeout: 20000 });
    result.refreshed = true;
    await admin.screenshot({ path: path.join(args.screenshots, 'operator.png'), fullPage: true });

    step('a viewer is told the page is not for them');
    const viewer = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await viewer.goto(origin + '/register');
    await viewer.fill('input[name=name]', 'viewer' + Date.now().toString(36));
    await viewer.fill('input[name=password]', 'correct horse battery');
    await viewer.click('main form button[type=submit]');
    await viewer.waitForSelector('header .user');
    result.viewerHasLink = (await viewer.$('header a[href="/operator"]')) !== null;
    await viewer.goto(origin + '/operator');
    await viewer.waitForSelector('[data-testid=operator-denied]');
    result.viewerDenied = await viewer.textContent('[data-testid=operator-denied]');
    // The page's check is the browser's; the API's answer is what counts.
    const token = await viewer.evaluate(() => localStorage.getItem('oc.token'));
    result.viewerApiStatus = (await viewer.request.get(origin + '/api/v1/operator/fleet', { headers: { authorization: 'Bearer ' + token } })).status();
  });
}

main().catch((e) => { console.log('RESULT ' + JSON.stringify({ ok: false, error: String((e && e.stack) || e) })); process.exit(1); });
