// Plays an HLS stream with hls.js in headless Chromium for the fleet bed tests, run inside a client
// namespace (ip netns exec … node play-fleet.js …). Uses the browser harness of tests/node
// (player-page.js and its node_modules).
//
// Usage: node play-fleet.js --url <master.m3u8 URL> [--play-seconds 4] [--after-seconds 8] [--timeout-seconds 60] [--wait-go 1|0]
//
// Prints `PLAYING {json}` once currentTime passed --play-seconds (json names the host that served
// the latest segment). With --wait-go 1 it then waits for a line `GO` on stdin (the caller breaks
// something). Then it plays --after-seconds more, sampling the media clock every 50 ms, and prints
// `RESULT {json}`: ok, the hosts segments came from after GO, and maxStallMs, the longest stretch
// of wall-clock time in which the media clock did not advance.
'use strict';
const path = require('path');
const readline = require('readline');
const { servePage, launchChromium } = require(path.join(__dirname, '..', '..', 'node', 'player-page'));

function parseArgs(argv) {
  const args = { playSeconds: 4, afterSeconds: 8, timeoutSeconds: 60, waitGo: 1 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    args[key] = key === 'url' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!args.url) { throw new Error('usage: --url <master.m3u8> [--play-seconds N] [--after-seconds N] [--wait-go 1|0]'); }
  return args;
}

// Short buffers keep the player fetching while it plays, so a failure mid-play is felt at once.
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>fleet player</title></head>
<body><video id="v" muted playsinline width="320" height="180"></video>
<script src="/hls.js"></script>
<script>
window.state = { errors: [], fatal: null };
window.start = function (url) {
  const video = document.getElementById('v');
  const hls = new Hls({ maxBufferLength: 3, maxMaxBufferLength: 4, backBufferLength: 2 });
  hls.on(Hls.Events.ERROR, (_, data) => {
    window.state.errors.push(data.type + ':' + data.details + (data.fatal ? ':fatal' : ''));
    if (data.fatal) { window.state.fatal = data.details; }
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  video.addEventListener('error', () => { window.state.fatal = 'media element error ' + (video.error && video.error.code); });
  video.play().catch(() => {});
};
</script></body></html>`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const args = parseArgs(process.argv);
  const server = await servePage(page);
  const browser = await launchChromium();
  const hosts = [];
  try {
    const tab = await (await browser.newContext()).newPage();
    tab.on('requestfinished', async (request) => {
      // Stamped on arrival: awaiting the response under load must not move a segment past GO.
      const at = Date.now();
      const url = new URL(request.url());
      if (!/\.(m4s|mp4|ts)$/.test(url.pathname)) { return; }
      const response = await request.response();
      if (response && response.status() < 300) { hosts.push({ host: url.hostname, at }); }
    });
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.evaluate((u) => window.start(u), args.url);
    const media = () => tab.evaluate(() => { const v = document.getElementById('v'); return { t: v.currentTime, ended: v.ended, state: window.state }; });
    const deadline = Date.now() + args.timeoutSeconds * 1000;
    let m = await media();
    while (m.t < args.playSeconds) {
      if (m.state.fatal || Date.now() > deadline) {
        console.log('RESULT ' + JSON.stringify({ ok: false, stage: 'start', currentTime: m.t, state: m.state, hosts: hosts.map((h) => h.host) }));
        return;
      }
      await sleep(100);
      m = await media();
    }
    const before = hosts.length ? hosts[hosts.length - 1].host : null;
    console.log('PLAYING ' + JSON.stringify({ currentTime: m.t, host: before }));
    if (args.waitGo) {
      const rl = readline.createInterface({ input: process.stdin });
      await new Promise((resolve) => rl.on('line', (line) => { if (line.trim() === 'GO') { resolve(); } }));
      rl.close();
    }
    const goAt = Date.now();
    const timeAtGo = (await media()).t;
    let lastT = timeAtGo, lastMove = goAt, maxStallMs = 0;
    while (true) {
      m = await media();
      const now = Date.now();
      if (m.t > lastT) { lastT = m.t; lastMove = now; }
      maxStallMs = Math.max(maxStallMs, now - lastMove);
      if (m.t >= timeAtGo + args.afterSeconds || m.ended || m.state.fatal || now > deadline) { break; }
      await sleep(50);
    }
    const after = hosts.filter((h) => h.at >= goAt).map((h) => h.host);
    console.log('RESULT ' + JSON.stringify({
      ok: m.t >= timeAtGo + args.afterSeconds && !m.state.fatal,
      timeAtGo, currentTime: m.t, hostBefore: before, hostsAfter: [...new Set(after)], segmentsAfter: after.length,
      maxStallMs, errors: m.state.errors, fatal: m.state.fatal,
    }));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.log('RESULT ' + JSON.stringify({ ok: false, error: String(e && e.stack || e) })); process.exit(1); });
