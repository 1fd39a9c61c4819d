// Plays a stream in headless Chromium with hls.js or dash.js and reports progress, for the .NET
// end-to-end tests (failover) and the ttff bench.
//
// Usage: node play-failover.js --player hls|dash --url <manifest URL> [--mode failover|ttff]
//        [--play-seconds 4] [--after-seconds 6] [--starts 20] [--timeout-seconds 50]
//
// failover: prints `PLAYING {json}` once currentTime passed --play-seconds (json names the host
//   that served the latest segment), then waits for a line `GO` on stdin (the caller stops that
//   host), then prints `RESULT {json}` once currentTime advanced --after-seconds further, or when it
//   gives up (timeout, fatal player error).
// ttff: loads the page --starts times and prints `RESULT {json}` with each start's time to first
//   frame (from setting the source to the first presented video frame).
//
// The page and the player libraries are served from node_modules by a loopback HTTP server (player-page.js).
'use strict';
const readline = require('readline');
const { servePage, launchChromium, sleep } = require('./player-page');

function parseArgs(argv) {
  const args = { player: 'hls', mode: 'failover', playSeconds: 4, afterSeconds: 6, starts: 20, timeoutSeconds: 50 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[i + 1];
    args[key] = ['playSeconds', 'afterSeconds', 'starts', 'timeoutSeconds'].includes(key) ? Number(value) : value;
  }
  if (!args.url || !['hls', 'dash'].includes(args.player)) {
    throw new Error('usage: --player hls|dash --url <manifest> [--mode failover|ttff]');
  }
  return args;
}


// Short buffers keep the player fetching segments while it plays, so a failure mid-play is seen.
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>player</title></head>
<body><video id="v" muted playsinline width="320" height="180"></video>
<script src="/hls.js"></script><script src="/dash.js"></script>
<script>
window.state = { errors: [], fatal: null, firstFrameMs: null };
window.start = function (player, url) {
  const video = document.getElementById('v');
  const t0 = performance.now();
  const onFrame = () => { window.state.firstFrameMs = performance.now() - t0; };
  if (video.requestVideoFrameCallback) { video.requestVideoFrameCallback(onFrame); }
  else { video.addEventListener('playing', onFrame, { once: true }); }
  if (player === 'hls') {
    const hls = new Hls({ maxBufferLength: 3, maxMaxBufferLength: 4, backBufferLength: 2 });
    hls.on(Hls.Events.ERROR, (_, data) => {
      window.state.errors.push(data.type + ':' + data.details + (data.fatal ? ':fatal' : ''));
      if (data.fatal) { window.state.fatal = data.details; }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    window.player = hls;
  } else {
    const dash = dashjs.MediaPlayer().create();
    dash.updateSettings({ streaming: { buffer: { bufferTimeAtTopQuality: 3, bufferTimeAtTopQualityLongForm: 3, stableBufferTime: 3, bufferToKeep: 2 } } });
    // A segment that cannot be downloaded (17, 27) is reported but not fatal: dash.js moves on to
    // the next BaseURL. Any other error is.
    dash.on(dashjs.MediaPlayer.events.ERROR, (e) => {
      const code = e.error && e.error.code;
      const detail = code + ':' + ((e.error && e.error.message) || String(e.error));
      window.state.errors.push(detail);
      if (code !== 17 && code !== 27) { window.state.fatal = detail; }
    });
    dash.initialize(video, url, true);
    window.player = dash;
  }
  video.addEventListener('error', () => { window.state.fatal = 'media element error ' + (video.error && video.error.code); });
  video.play().catch(() => {});
};
</script></body></html>`;



async function openPage(browser, origin, segmentHosts) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  // Segments actually delivered (a 2xx response that finished), by host.
  tab.on('requestfinished', async (request) => {
    const url = new URL(request.url());
    if (!/\.(m4s|mp4|ts)$/.test(url.pathname)) { return; }
    const response = await request.response();
    if (response && response.status() < 300) { segmentHosts.push({ host: url.host, path: url.pathname, at: Date.now() }); }
  });
  tab.on('requestfailed', (request) => {
    const url = new URL(request.url());
    if (/\.(m4s|mp4|ts)$/.test(url.pathname)) { segmentHosts.push({ host: url.host, path: url.pathname, failed: true, at: Date.now() }); }
  });
  await tab.goto(origin + '/');
  return { context, tab };
}

async function currentTime(tab) {
  return tab.evaluate(() => document.getElementById('v').currentTime);
}

async function failover(browser, origin, args) {
  const hosts = [];
  const { tab } = await openPage(browser, origin, hosts);
  await tab.evaluate(([p, u]) => window.start(p, u), [args.player, args.url]);
  const deadline = Date.now() + args.timeoutSeconds * 1000;
  let t = 0;
  while ((t = await currentTime(tab)) < args.playSeconds) {
    const state = await tab.evaluate(() => window.state);
    if (state.fatal || Date.now() > deadline) {
      console.log('RESULT ' + JSON.stringify({ ok: false, stage: 'start', currentTime: t, state, hosts }));
      return;
    }
    await sleep(100);
  }
  const served = hosts.filter((h) => !h.failed);
  const before = served.length ? served[served.length - 1].host : null;
  console.log('PLAYING ' + JSON.stringify({ currentTime: t, host: before }));
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.on('line', (line) => { if (line.trim() === 'GO') { resolve(); } }));
  rl.close();
  const killedAt = Date.now();
  const timeAtKill = await currentTime(tab);
  let state;
  while (true) {
    t = await currentTime(tab);
    state = await tab.evaluate(() => window.state);
    if (t >= timeAtKill + args.afterSeconds || state.fatal || Date.now() > deadline) { break; }
    await sleep(100);
  }
  const after = hosts.filter((h) => h.at >= killedAt && !h.failed).map((h) => h.host);
  console.log('RESULT ' + JSON.stringify({
    ok: t >= timeAtKill + args.afterSeconds && !state.fatal,
    timeAtKill, currentTime: t, hostBefore: before, hostsAfter: [...new Set(after)],
    segmentsAfter: after.length, errors: state.errors, fatal: state.fatal,
  }));
}

async function ttff(browser, origin, args) {
  const samples = [];
  for (let i = 0; i < args.starts; i++) {
    const { context, tab } = await openPage(browser, origin, []);
    await tab.evaluate(([p, u]) => window.start(p, u), [args.player, args.url]);
    const deadline = Date.now() + args.timeoutSeconds * 1000;
    let state;
    while (true) {
      state = await tab.evaluate(() => window.state);
      if (state.firstFrameMs !== null || state.fatal || Date.now() > deadline) { break; }
      await sleep(5);
    }
    await context.close();
    if (state.firstFrameMs === null) {
      console.log('RESULT ' + JSON.stringify({ ok: false, start: i, state }));
      return;
    }
    samples.push(state.firstFrameMs);
  }
  console.log('RESULT ' + JSON.stringify({ ok: true, ttffMs: samples }));
}

async function main() {
  const args = parseArgs(process.argv);
  const server = await servePage(page);
  const origin = 'http://127.0.0.1:' + server.address().port;
  const browser = await launchChromium();
  try {
    if (args.mode === 'ttff') { await ttff(browser, origin, args); } else { await failover(browser, origin, args); }
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.log('RESULT ' + JSON.stringify({ ok: false, error: String(e && e.stack || e) })); process.exit(1); });
