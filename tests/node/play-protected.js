// Plays a protected (CENC, EME ClearKey) title in headless Chromium with hls.js, dash.js or Shaka,
// configured the way the web app does it: from steering's /play JSON (the manifest URLs and
// drm['org.w3.clearkey'].licenseUrl), or, with --license manifest, dash.js/Shaka find the licence
// URL in the MPD's ClearKey ContentProtection (dashif:Laurl) by themselves.
//
// Usage: node play-protected.js --player hls|dash|shaka --play-url <steering /play/{title} URL>
//        [--license play|manifest] [--play-seconds 3] [--timeout-seconds 60]
//
// Prints `RESULT {json}`: ok when currentTime passed --play-seconds with no fatal error, the
// licence requests made (URL, method, status), the media segments fetched (host, path, status)
// and the player errors.
'use strict';
const { servePage, launchChromium, playUntil } = require('./player-page');

function parseArgs(argv) {
  const args = { player: 'hls', license: 'play', playSeconds: 3, timeoutSeconds: 60 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[i + 1];
    args[key] = ['playSeconds', 'timeoutSeconds'].includes(key) ? Number(value) : value;
  }
  if (!args.playUrl || !['hls', 'dash', 'shaka'].includes(args.player) || !['play', 'manifest'].includes(args.license)) {
    throw new Error('usage: --player hls|dash|shaka --play-url <url> [--license play|manifest]');
  }
  if (args.player === 'hls' && args.license === 'manifest') {
    throw new Error('an HLS playlist carries no ClearKey licence URL: hls.js takes it from /play');
  }
  return args;
}


const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>protected player</title></head>
<body><video id="v" muted playsinline width="320" height="180"></video>
<script src="/hls.js"></script><script src="/dash.js"></script><script src="/shaka.js"></script>
<script>
window.state = { errors: [], fatal: null, play: null };
const fail = (detail) => { window.state.errors.push(detail); window.state.fatal = window.state.fatal || detail; };
window.start = async function (player, playUrl, licenseFrom) {
  const video = document.getElementById('v');
  video.addEventListener('error', () => fail('media element error ' + (video.error && video.error.code) + ' ' + (video.error && video.error.message)));
  const response = await fetch(playUrl, { headers: { accept: 'application/json' } });
  if (!response.ok) { fail('/play answered ' + response.status); return; }
  const play = await response.json();
  window.state.play = play;
  const clearKey = play.drm && play.drm['org.w3.clearkey'];
  if (!clearKey || !clearKey.licenseUrl) { fail('/play has no ClearKey licence URL'); return; }
  const licenseUrl = clearKey.licenseUrl;
  const fromPlay = licenseFrom === 'play';
  if (player === 'hls') {
    const hls = new Hls({ emeEnabled: true, drmSystems: { 'org.w3.clearkey': { licenseUrl } } });
    hls.on(Hls.Events.ERROR, (_, data) => {
      window.state.errors.push(data.type + ':' + data.details + (data.fatal ? ':fatal' : '') + (data.error ? ':' + data.error.message : ''));
      if (data.fatal) { window.state.fatal = data.details; }
    });
    hls.loadSource(play.hls.url);
    hls.attachMedia(video);
    window.player = hls;
  } else if (player === 'dash') {
    const dash = dashjs.MediaPlayer().create();
    if (fromPlay) { dash.setProtectionData({ 'org.w3.clearkey': { serverURL: licenseUrl } }); }
    dash.on(dashjs.MediaPlayer.events.ERROR, (e) => {
      const code = e.error && e.error.code;
      const detail = code + ':' + ((e.error && e.error.message) || String(e.error));
      window.state.errors.push(detail);
      if (code !== 17 && code !== 27) { window.state.fatal = detail; }
    });
    dash.initialize(video, play.dash.url, true);
    window.player = dash;
  } else {
    shaka.polyfill.installAll();
    const shakaPlayer = new shaka.Player();
    await shakaPlayer.attach(video);
    if (fromPlay) { shakaPlayer.configure({ drm: { servers: { 'org.w3.clearkey': licenseUrl } } }); }
    shakaPlayer.addEventListener('error', (e) => {
      const detail = 'shaka:' + (e.detail && e.detail.code) + ':' + JSON.stringify(e.detail && e.detail.data);
      window.state.errors.push(detail);
      if (e.detail && e.detail.severity === shaka.util.Error.Severity.CRITICAL) { window.state.fatal = detail; }
    });
    window.player = shakaPlayer;
    try { await shakaPlayer.load(play.dash.url); } catch (e) { fail('shaka load: ' + (e && e.code) + ' ' + JSON.stringify(e && e.data)); return; }
  }
  video.play().catch(() => {});
};
</script></body></html>`;


async function main() {
  const args = parseArgs(process.argv);
  const server = await servePage(page);
  const origin = 'http://127.0.0.1:' + server.address().port;
  const browser = await launchChromium();
  const licenses = [];
  const segments = [];
  try {
    const context = await browser.newContext();
    const tab = await context.newPage();
    tab.on('requestfinished', async (request) => {
      const url = new URL(request.url());
      const response = await request.response();
      const status = response ? response.status() : 0;
      if (url.pathname.startsWith('/license/')) {
        licenses.push({ url: request.url(), method: request.method(), status });
      } else if (/\.(m4s|mp4)$/.test(url.pathname)) {
        segments.push({ host: url.host, path: url.pathname, status });
      }
    });
    tab.on('requestfailed', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/license/')) { licenses.push({ url: request.url(), method: request.method(), status: 0, failure: request.failure() && request.failure().errorText }); }
    });
    await tab.goto(origin + '/');
    await tab.evaluate(([p, u, l]) => { window.start(p, u, l).catch((e) => { window.state.fatal = 'start: ' + e; }); }, [args.player, args.playUrl, args.license]);
    const { t, state } = await playUntil(tab, args.playSeconds, args.timeoutSeconds);
    console.log('RESULT ' + JSON.stringify({
      ok: t >= args.playSeconds && !state.fatal,
      currentTime: t, licenses, segments, errors: state.errors, fatal: state.fatal, drm: state.play && state.play.drm,
    }));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.log('RESULT ' + JSON.stringify({ ok: false, error: String(e && e.stack || e) })); process.exit(1); });
