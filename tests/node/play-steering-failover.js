// Starts a title in headless Chromium the way the web app does: /play through the steering addresses
// given (the web app's own web/src/player/steering-addresses.js, served as a module), then hls.js on
// the steered playlist of the replica that answered, until the video has played --play-seconds.
// Run inside a client namespace of the fleet bed (ip netns exec … node play-steering-failover.js …).
//
// Usage: node play-steering-failover.js --steering URL [--steering URL …] --title ID
//        [--hedge-ms 1000] [--play-seconds 1] [--timeout-seconds 60]
//
// Prints `RESULT {json}`: ok (played), steeringUrl (the address that answered /play), attempts (each
// address asked: when, and when it answered or why it failed; a black-holed one has neither),
// askMs (from the first ask to /play's answer), firstFrameMs (to the first presented frame),
// currentTime, hls.js errors.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { launchChromium, sleep } = require('./player-page');

const files = {
  '/hls.js': [path.join(__dirname, 'node_modules/hls.js/dist/hls.min.js'), 'text/javascript'],
  '/steering-addresses.js': [path.join(__dirname, '..', '..', 'web', 'src', 'player', 'steering-addresses.js'), 'text/javascript'],
};

function parseArgs(argv) {
  const args = { steering: [], hedgeMs: 1000, playSeconds: 1, timeoutSeconds: 60 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (key === 'steering') { args.steering.push(argv[i + 1]); } else if (key === 'title') { args.title = argv[i + 1]; } else { args[key] = Number(argv[i + 1]); }
  }
  if (!args.steering.length || !args.title) { throw new Error('usage: --steering URL [--steering URL …] --title ID [--hedge-ms N] [--play-seconds N] [--timeout-seconds N]'); }
  return args;
}

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>steering failover</title></head>
<body><video id="v" muted playsinline width="320" height="180"></video>
<script src="/hls.js"></script>
<script type="module">
import { fetchPlayFrom } from '/steering-addresses.js';
window.state = { errors: [], fatal: null };
window.start = async function (steering, title, hedgeMs) {
  const video = document.getElementById('v');
  const t0 = performance.now();
  video.requestVideoFrameCallback(() => { window.state.firstFrameMs = Math.round(performance.now() - t0); });
  let answer;
  try {
    answer = await fetchPlayFrom(steering, title, { hedgeMs, store: null });
  } catch (e) {
    window.state.fatal = 'play: ' + e.message;
    return;
  }
  window.state.askMs = Math.round(performance.now() - t0);
  window.state.steeringUrl = answer.steeringUrl;
  window.state.attempts = answer.attempts;
  window.state.hlsUrl = answer.play.hls.url;
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_, data) => {
    window.state.errors.push(data.type + ':' + data.details + (data.fatal ? ':fatal' : ''));
    if (data.fatal) { window.state.fatal = data.details; }
  });
  hls.loadSource(answer.play.hls.url);
  hls.attachMedia(video);
  video.play().catch(() => {});
};
window.ready = true;
</script></body></html>`;

function serve() {
  const server = http.createServer((req, res) => {
    const url = req.url.split('?')[0];
    if (url === '/' || url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
      return;
    }
    const file = files[url];
    if (!file) { res.writeHead(404); res.end(); return; }
    const stream = fs.createReadStream(file[0]);
    stream.on('error', (e) => { res.writeHead(500, { 'content-type': 'text/plain' }); res.end(String(e.message)); });
    stream.on('open', () => { res.writeHead(200, { 'content-type': file[1] }); stream.pipe(res); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main() {
  const args = parseArgs(process.argv);
  const server = await serve();
  const browser = await launchChromium();
  try {
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.waitForFunction(() => window.ready === true);
    await tab.evaluate(([s, t, h]) => { window.start(s, t, h); }, [args.steering, args.title, args.hedgeMs]);
    const deadline = Date.now() + args.timeoutSeconds * 1000;
    let m;
    for (;;) {
      m = await tab.evaluate(() => ({ t: document.getElementById('v').currentTime, state: window.state }));
      if (m.t >= args.playSeconds || m.state.fatal || Date.now() > deadline) { break; }
      await sleep(100);
    }
    console.log('RESULT ' + JSON.stringify({ ok: m.t >= args.playSeconds && !m.state.fatal, currentTime: m.t, ...m.state }));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.log('RESULT ' + JSON.stringify({ ok: false, error: String(e && e.stack || e) })); process.exit(1); });
