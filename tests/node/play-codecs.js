// Plays a title with more than one video codec in headless Chromium with hls.js or dash.js, from
// steering's /play JSON, and reports what Chromium says about each codec string.
//
// Usage: node play-codecs.js --player hls|dash --play-url <steering /play/{title} URL>
//        --codecs <comma-separated codec strings> [--force <codec prefix, e.g. av01>]
//        [--play-seconds 2] [--timeout-seconds 60]
//
// Without --force the player picks the codec itself; with it, the player is switched to the
// renditions whose video codec starts with the prefix as soon as it knows them.
//
// Prints `RESULT {json}`: ok when currentTime passed --play-seconds with no fatal error;
// `supported` (MediaSource.isTypeSupported for each --codecs string), `levels` (the renditions the
// player parsed with their codecs), `played` (the player's current rendition and its codecs at the
// end), the media segments fetched (host, path, status) and the player errors.
'use strict';
const { servePage, launchChromium, playUntil } = require('./player-page');

function parseArgs(argv) {
  const args = { player: 'hls', playSeconds: 2, timeoutSeconds: 60, force: '', codecs: '' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[i + 1];
    args[key] = ['playSeconds', 'timeoutSeconds'].includes(key) ? Number(value) : value;
  }
  if (!args.playUrl || !['hls', 'dash'].includes(args.player)) {
    throw new Error('usage: --player hls|dash --play-url <url> --codecs <list> [--force <prefix>]');
  }
  args.codecs = args.codecs.split(',').filter((c) => c.length > 0);
  return args;
}


const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>codec player</title></head>
<body><video id="v" muted playsinline width="320" height="180"></video>
<script src="/hls.js"></script><script src="/dash.js"></script>
<script>
window.state = { errors: [], fatal: null, levels: [], played: null, forced: null };
const fail = (detail) => { window.state.errors.push(detail); window.state.fatal = window.state.fatal || detail; };
window.supported = (codecs) => codecs.map((codec) => ({
  codec,
  supported: MediaSource.isTypeSupported((codec.startsWith('mp4a') ? 'audio/mp4' : 'video/mp4') + '; codecs="' + codec + '"'),
}));
// The codec string of a dash.js track or representation ('video/mp4;codecs="av01..."' or bare).
const bare = (codecs) => { const m = /codecs="([^"]+)"/.exec(codecs || ''); return m ? m[1] : (codecs || null); };
window.current = function () {
  const p = window.player;
  if (!p) { return null; }
  if (window.playerName === 'hls') {
    const level = p.levels[p.currentLevel];
    return level ? { name: level.uri || String(level.url), codecs: level.attrs.CODECS, videoCodec: level.videoCodec } : null;
  }
  const rep = p.getCurrentRepresentationForType('video');
  return rep ? { name: rep.id, codecs: bare(rep.codecs), videoCodec: bare(rep.codecs) } : null;
};
window.start = async function (player, playUrl, force) {
  window.playerName = player;
  const video = document.getElementById('v');
  video.addEventListener('error', () => fail('media element error ' + (video.error && video.error.code) + ' ' + (video.error && video.error.message)));
  const response = await fetch(playUrl, { headers: { accept: 'application/json' } });
  if (!response.ok) { fail('/play answered ' + response.status); return; }
  const play = await response.json();
  if (player === 'hls') {
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_, data) => {
      window.state.errors.push(data.type + ':' + data.details + (data.fatal ? ':fatal' : '') + (data.error ? ':' + data.error.message : ''));
      if (data.fatal) { window.state.fatal = data.details; }
    });
    hls.on(Hls.Events.MANIFEST_PARSED, (_, data) => {
      window.state.levels = data.levels.map((l) => ({ name: l.uri || String(l.url), codecs: l.attrs.CODECS, videoCodec: l.videoCodec }));
      if (force) {
        const index = hls.levels.findIndex((l) => (l.videoCodec || '').startsWith(force));
        if (index < 0) { fail('no level with a ' + force + ' codec'); return; }
        hls.currentLevel = index;
        window.state.forced = window.state.levels[index];
      }
    });
    hls.loadSource(play.hls.url);
    hls.attachMedia(video);
    window.player = hls;
  } else {
    const dash = dashjs.MediaPlayer().create();
    dash.on(dashjs.MediaPlayer.events.ERROR, (e) => {
      const detail = (e.error && e.error.code) + ':' + ((e.error && e.error.message) || String(e.error));
      window.state.errors.push(detail);
      window.state.fatal = window.state.fatal || detail;
    });
    dash.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => {
      const tracks = dash.getTracksFor('video');
      window.state.levels = tracks.map((t) => ({ name: 'adaptation set ' + t.id, codecs: bare(t.codec), videoCodec: bare(t.codec) }));
      if (force) {
        const track = tracks.find((t) => (bare(t.codec) || '').startsWith(force));
        if (!track) { fail('no adaptation set with a ' + force + ' codec'); return; }
        dash.setCurrentTrack(track);
        window.state.forced = { codecs: bare(track.codec) };
      }
    });
    dash.initialize(video, play.dash.url, true);
    window.player = dash;
  }
  video.play().catch(() => {});
};
</script></body></html>`;


async function main() {
  const args = parseArgs(process.argv);
  const server = await servePage(page);
  const origin = 'http://127.0.0.1:' + server.address().port;
  const browser = await launchChromium();
  const segments = [];
  try {
    const context = await browser.newContext();
    const tab = await context.newPage();
    tab.on('requestfinished', async (request) => {
      const url = new URL(request.url());
      if (/\.(m4s|mp4)$/.test(url.pathname)) {
        const response = await request.response();
        segments.push({ host: url.host, path: url.pathname, status: response ? response.status() : 0 });
      }
    });
    await tab.goto(origin + '/');
    const supported = await tab.evaluate((codecs) => window.supported(codecs), args.codecs);
    await tab.evaluate(([p, u, f]) => { window.start(p, u, f).catch((e) => { window.state.fatal = 'start: ' + e; }); }, [args.player, args.playUrl, args.force]);
    const { t, state } = await playUntil(tab, args.playSeconds, args.timeoutSeconds);
    const played = await tab.evaluate(() => window.current());
    console.log('RESULT ' + JSON.stringify({
      ok: t >= args.playSeconds && !state.fatal,
      currentTime: t, supported, levels: state.levels, forced: state.forced, played, segments, errors: state.errors, fatal: state.fatal,
    }));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.log('RESULT ' + JSON.stringify({ ok: false, error: String(e && e.stack || e) })); process.exit(1); });
