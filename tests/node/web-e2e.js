// Drives the web app in headless Chromium for the .NET end-to-end test (WebAppTests): an uploader
// registers, a viewer subscribes to the uploader's channel, the uploader uploads a file through the
// upload page, reloads half-way and later loses the network for two seconds (the upload must resume
// both times), the viewer's bell must show the new title, the uploader watches it (through steering,
// from an appliance), likes it and comments, and a file that is not a video is refused with a reason.
// Screenshots of the home, upload and watch pages go to --screenshots.
//
// The uploader registers with an invite code the test's admin created (--invite).
//
// Usage: node web-e2e.js --origin URL --file PATH --screenshots DIR --invite CODE [--timeout-seconds 240]
// Prints progress lines `STEP …` and finally `RESULT {json}`.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runInChromium } = require('./player-page');

function parseArgs(argv) {
  const args = { timeoutSeconds: 240 };
  for (let i = 2; i < argv.length; i += 2) {
    args[argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = argv[i + 1];
  }
  if (!args.origin || !args.file || !args.screenshots || !args.invite) { throw new Error('usage: --origin URL --file PATH --screenshots DIR --invite CODE'); }
  args.timeoutSeconds = Number(args.timeoutSeconds);
  return args;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const step = (text) => console.log('STEP ' + text);

async function register(page, origin, name, invite) {
  await page.goto(origin + '/register');
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', 'correct horse battery');
  if (invite) { await page.fill('input[name=invite]', invite); }
  await page.click('main form button[type=submit]');
  await page.waitForSelector('header .user');
  return page.evaluate(() => JSON.parse(localStorage.getItem('oc.user')));
}

async function fillUploadForm(page, file) {
  await page.setInputFiles('input[type=file]', file);
  await page.fill('input[name=title]', 'Browser test upload');
  await page.fill('textarea[name=description]', 'Uploaded by the end-to-end test through the upload page.');
  await page.fill('input[name=tags]', 'e2e, browser');
}

async function main() {
  const args = parseArgs(process.argv);
  const origin = args.origin.replace(/\/$/, '');
  fs.mkdirSync(args.screenshots, { recursive: true });
  const shot = (page, name) => page.screenshot({ path: path.join(args.screenshots, name), fullPage: true });
  const deadline = Date.now() + args.timeoutSeconds * 1000;
  const left = () => Math.max(1000, deadline - Date.now());
  await runInChromium(async (browser, result) => {
    const uploaderContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const viewerContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const a = await uploaderContext.newPage();
    const b = await viewerContext.newPage();
    for (const p of [a, b]) { p.on('console', (m) => { if (m.type() === 'error') { result.consoleErrors.push(m.text()); } }); }
    const suffix = Date.now().toString(36);

    step('register the uploader and the viewer');
    const uploader = await register(a, origin, 'up' + suffix, args.invite);
    const viewer = await register(b, origin, 'view' + suffix, null);
    result.channelId = uploader.channelId;

    step('the viewer subscribes to the uploader\'s channel');
    await b.goto(origin + '/channel/' + uploader.channelId);
    await b.click('[data-testid=subscribe]');
    await b.waitForSelector('[data-testid=subscribe].on');
    await b.waitForSelector('body[data-bell=connected]');

    step('upload with a reload half-way');
    // Each PATCH waits a little so the reload lands in the middle of the upload.
    const patches = [];
    const posts = [];
    await a.route('**/files/**', async (route) => {
      if (route.request().method() === 'PATCH') { await sleep(400); }
      await route.continue();
    });
    a.on('request', (r) => {
      if (!new URL(r.url()).pathname.startsWith('/files')) { return; }
      if (r.method() === 'PATCH') { patches.push({ url: r.url(), offset: Number(r.headers()['upload-offset']), at: Date.now() }); }
      if (r.method() === 'POST') { posts.push({ url: r.url(), at: Date.now() }); }
    });
    await a.goto(origin + '/upload');
    await fillUploadForm(a, args.file);
    await a.click('main form button[type=submit]');
    await a.waitForFunction(() => Number(document.querySelector('[data-testid=upload-progress]').value) >= 30, null, { timeout: left() });
    result.progressAtReload = await a.evaluate(() => Number(document.querySelector('[data-testid=upload-progress]').value));
    result.uploadUrlBefore = new URL(await a.evaluate(() => document.querySelector('main form').dataset.uploadUrl), origin).toString();
    const reloadedAt = Date.now();
    await a.reload();
    await a.waitForSelector('[data-testid=pending]');
    await fillUploadForm(a, args.file);
    await a.click('main form button[type=submit]');
    // Then the network drops for two seconds mid-upload; the upload must carry on afterwards.
    await a.waitForFunction(() => Number(document.querySelector('[data-testid=upload-progress]').value) >= 60, null, { timeout: left() });
    const droppedAt = Date.now();
    await uploaderContext.setOffline(true);
    await sleep(2000);
    result.offlineSeen = await a.evaluate(() => document.querySelector('main form').dataset.offline === 'seen');
    await uploaderContext.setOffline(false);
    await a.waitForSelector('[data-testid=playable]', { timeout: left() });
    result.patchesAfterDrop = patches.filter((p) => p.at > droppedAt + 2000).length;
    const after = patches.filter((p) => p.at > reloadedAt);
    const resumed = await a.evaluate(() => document.querySelector('main form').dataset.resumed || null);
    result.resumedFrom = resumed && new URL(resumed, origin).toString();
    result.firstOffsetAfterReload = after.length ? after[0].offset : null;
    result.patchUrlsAfterReload = [...new Set(after.map((p) => p.url))];
    result.postsAfterReload = posts.filter((p) => p.at > reloadedAt).length;
    result.titleId = await a.evaluate(() => document.querySelector('main form').dataset.titleId);
    const playableAt = Date.now();
    await shot(a, 'upload.png');
    await a.unroute('**/files/**');

    step('the viewer\'s bell shows the new title');
    const note = await b.waitForSelector(`.notification[data-title="${result.titleId}"]`, { state: 'attached', timeout: 15000 });
    result.notificationReceivedAt = Number(await note.getAttribute('data-received-at'));
    result.bellCount = Number(await b.getAttribute('.bell', 'data-count'));
    const title = await (await a.request.get(`${origin}/api/v1/titles/${result.titleId}`)).json();
    result.publishedAt = Date.parse(title.publishedAt);
    result.playableSeenAt = playableAt;

    step('watch: play through steering');
    await a.goto(origin + '/watch/' + result.titleId);
    await a.waitForFunction(() => window.ocPlayer && window.ocPlayer.video.currentTime > 3, null, { timeout: left() });
    const player = await a.evaluate(() => ({ host: window.ocPlayer.lastSegmentHost, appliance: window.ocPlayer.appliance, site: window.ocPlayer.site, session: window.ocPlayer.qoe.sessionId, sent: window.ocPlayer.qoe.sent, currentTime: window.ocPlayer.video.currentTime, pathways: window.ocPlayer.play.hls.pathways }));
    Object.assign(result, { segmentHost: player.host, appliance: player.appliance, site: player.site, qoeSession: player.session, beaconsSent: player.sent, currentTime: player.currentTime, pathways: player.pathways });

    step('like and comment');
    await a.click('[data-testid=like]');
    await a.waitForFunction(() => document.querySelector('[data-testid=like]').textContent.includes('1'));
    await a.fill('.comments textarea', 'First comment from the browser test');
    await a.click('.comments form button[type=submit]');
    const comment = await a.waitForSelector('li.comment:has-text("First comment from the browser test")');
    await (await comment.$('button:has-text("Reply")')).click();
    await a.fill('li.comment textarea', 'A reply in the thread');
    await a.click('li.comment form button[type=submit]');
    await a.waitForSelector('ul.replies li.comment:has-text("A reply in the thread")');
    await sleep(500);
    await shot(a, 'watch.png');
    const phone = await viewerContext.newPage();
    await phone.goto(origin + '/watch/' + result.titleId);
    await phone.waitForFunction(() => window.ocPlayer && window.ocPlayer.video.currentTime > 1, null, { timeout: left() });
    await shot(phone, 'watch-phone.png');
    await phone.close();

    step('a file that is not a video is rejected with the reason');
    const junk = path.join(os.tmpdir(), 'openconnect-not-a-video.mp4');
    fs.writeFileSync(junk, 'this is text, not a video\n'.repeat(100));
    const rejectPage = await uploaderContext.newPage();
    await rejectPage.goto(origin + '/upload');
    await rejectPage.setInputFiles('input[type=file]', junk);
    await rejectPage.click('main form button[type=submit]');
    await rejectPage.waitForFunction(() => document.querySelector('[data-testid=upload-error]').textContent.length > 0, null, { timeout: 60000 });
    result.rejectedText = await rejectPage.textContent('[data-testid=upload-error]');
    const rejectedUpload = await rejectPage.evaluate(() => document.querySelector('main form').dataset.uploadUrl);
    // Upload status is the uploader's: ask with their token, as the upload page does.
    const uploaderToken = await rejectPage.evaluate(() => localStorage.getItem('oc.token'));
    result.rejectedReason = (await (await rejectPage.request.get(`${origin}/api/uploads/${rejectedUpload.split('/').pop()}`, { headers: { authorization: 'Bearer ' + uploaderToken } })).json()).reason;
    await rejectPage.close();

    step('leave the watch page (end beacon), home page');
    await a.click('a.logo');
    await a.waitForSelector(`.card[data-title="${result.titleId}"]`, { timeout: 15000 });
    await shot(a, 'home.png');
    await a.goto(origin + '/qoe');
    await a.waitForSelector('[data-testid=qoe-totals]');
    await sleep(500);
    await shot(a, 'qoe.png');
  });
}

main().catch((e) => { console.log('RESULT ' + JSON.stringify({ ok: false, error: String((e && e.stack) || e) })); process.exit(1); });
