// Time to first frame in headless Chromium with hls.js or dash.js, for `bench ttff`: loads a fresh
// page per start, sets the source, and reports the time to the first presented video frame with a
// breakdown of where it went: the browser's Resource Timing entries (each request's start and end,
// so the requests in series show) and the player's and media element's events (manifest parsed,
// segment loaded, segment appended to its SourceBuffer, first frame).
//
// Usage: node play-ttff.js --player hls|dash --url <manifest URL> [--starts 20] [--profile fast|baseline]
//        [--config <json merged into the player config>] [--timeout-seconds 30]
//        node play-ttff.js --player hls|dash --play <steering /play/{title} URL> [--start-set on|off] ...
//
// With --play the page starts as the web app does: it asks steering's /play (with ?start=<engine> when
// --start-set is on, the default), fetches the answer's start set at once and hands it to the player
// through the web app's own loaders (web/src/player/start-set.js), then starts the player on the steered
// manifest URL from the answer. The clock then starts before /play, so its time counts.
//
// Prints `RESULT {json}`: { ok, ttffMs: [..], starts: [{ ttffMs, resources: [{ name, start, end, bytes }],
// events: [{ name, at }] }] }, times in ms from setting the source; { ok: false, error } when a start fails.
//
// Profiles: the player settings, the same on every side of a comparison. `fast` is what the web app's
// player uses (web/src/player/start-config.js); `baseline` is the bench's earlier setting (player
// defaults with a 3 s forward buffer).
'use strict';
const fs = require('fs');
const path = require('path');
const { servePage, runInChromium, sleep } = require('./player-page');

function parseArgs(argv) {
  const args = { player: 'hls', starts: 20, profile: 'fast', config: '{}', timeoutSeconds: 30, startSet: 'on' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[i + 1];
    if (value === undefined) { throw new Error(`${argv[i]} needs a value`); }
    args[key] = ['starts', 'timeoutSeconds'].includes(key) ? Number(value) : value;
  }
  if (!(args.url || args.play) || (args.url && args.play) || !['hls', 'dash'].includes(args.player) || !['fast', 'baseline'].includes(args.profile)
    || !['on', 'off'].includes(args.startSet) || !(args.starts >= 1) || !(args.timeoutSeconds > 0)) {
    throw new Error('usage: --player hls|dash (--url <manifest> | --play <steering /play/{title} URL> [--start-set on|off]) [--starts N] [--profile fast|baseline] [--config <json>]');
  }
  args.config = JSON.parse(args.config);
  return args;
}

// The web app's start-set loaders, as they are (the file has no imports; its exports become globals here).
const startSetSource = fs.readFileSync(path.join(__dirname, '..', '..', 'web', 'src', 'player', 'start-set.js'), 'utf8').replace(/^export /gm, '');

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>ttff</title></head>
<body><video id="v" muted playsinline width="320" height="180"></video>
<script src="/hls.js"></script><script src="/dash.js"></script>
<script>${startSetSource.replace(/<\/script/gi, '<\\/script')}</script>
<script>
// The player settings per profile. 'fast' mirrors web/src/player/start-config.js.
const profiles = {
  baseline: {
    hls: { maxBufferLength: 3, maxMaxBufferLength: 4, backBufferLength: 2 },
    dash: { streaming: { buffer: { bufferTimeAtTopQuality: 3, bufferTimeAtTopQualityLongForm: 3, stableBufferTime: 3, bufferToKeep: 2 } } },
  },
  // A fresh browser has no throughput hint: hlsStartConfig(null) and dashStartSettings(null).
  fast: {
    hls: { maxBufferLength: 3, maxMaxBufferLength: 4, backBufferLength: 2, testBandwidth: false, startFragPrefetch: true, enableWorker: false, abrEwmaDefaultEstimate: 1 },
    dash: { streaming: { buffer: { bufferTimeAtTopQuality: 3, bufferTimeAtTopQualityLongForm: 3, stableBufferTime: 3, bufferToKeep: 2 },
      abr: { initialBitrate: { video: 1 } } } },
  },
};
function merge(a, b) {
  const out = Object.assign({}, a);
  for (const k of Object.keys(b || {})) {
    out[k] = b[k] && typeof b[k] === 'object' && !Array.isArray(b[k]) ? merge(a[k] || {}, b[k]) : b[k];
  }
  return out;
}
window.state = { errors: [], fatal: null, firstFrameMs: null, events: [] };
// As the web app starts: /play asked (with ?start=<engine> for the start set) while the player is built
// and attached to the video element; when /play answers, the start set is fetched at once and the
// player loads the steered manifest URL from the answer.
window.startViaPlay = async function (player, playUrl, profile, extra, withStartSet) {
  const t0 = performance.now();
  window.state.t0 = t0;
  try {
    const asked = fetch(playUrl + (withStartSet ? startQuery(player, null) : ''), { headers: { accept: 'application/json' } });
    const startSet = withStartSet ? new StartSet() : null;
    const load = window.start(player, null, profile, extra, startSet, t0);
    const response = await asked;
    const play = await response.json();
    if (!response.ok) { throw new Error('/play answered ' + response.status + ': ' + JSON.stringify(play)); }
    window.state.events.push({ name: '/play answered', at: performance.now() - t0 });
    if (startSet) { startSet.fill(play.start); }
    window.state.startSetSize = startSet ? startSet.size : 0;
    load(player === 'hls' ? play.hls.url : play.dash.url);
  } catch (e) {
    window.state.fatal = String(e && e.message || e);
  }
};
// Builds the player, attaches it to the video element and loads url; without one (null) returns
// the function that loads one later.
window.start = function (player, url, profile, extra, startSet = null, startedAt = null) {
  const video = document.getElementById('v');
  const t0 = startedAt === null ? performance.now() : startedAt;
  window.state.t0 = t0;
  const mark = (name) => window.state.events.push({ name, at: performance.now() - t0 });
  const onFrame = () => { window.state.firstFrameMs = performance.now() - t0; mark('first frame'); };
  if (video.requestVideoFrameCallback) { video.requestVideoFrameCallback(onFrame); }
  else { video.addEventListener('playing', onFrame, { once: true }); }
  for (const e of ['loadedmetadata', 'loadeddata', 'canplay', 'playing']) {
    video.addEventListener(e, () => mark('video ' + e), { once: true });
  }
  let load;
  if (player === 'hls') {
    const config = merge(profiles[profile].hls, extra);
    if (startSet) { config.loader = hlsStartSetLoader(Hls.DefaultConfig.loader, startSet); }
    const hls = new Hls(config);
    const E = Hls.Events;
    hls.on(E.MANIFEST_LOADED, () => mark('manifest loaded'));
    hls.on(E.MEDIA_ATTACHED, () => mark('media attached'));
    hls.on(E.LEVEL_LOADED, (_, d) => mark('level ' + d.level + ' playlist loaded'));
    hls.on(E.AUDIO_TRACK_LOADED, () => mark('audio playlist loaded'));
    hls.on(E.FRAG_LOADED, (_, d) => mark(d.frag.type + ' ' + d.frag.sn + (d.frag.bitrateTest ? ' (bitrate test)' : '') + ' loaded'));
    hls.on(E.FRAG_BUFFERED, (_, d) => mark(d.frag.type + ' ' + d.frag.sn + ' appended'));
    hls.on(E.ERROR, (_, data) => {
      window.state.errors.push(data.type + ':' + data.details + (data.fatal ? ':fatal' : ''));
      if (data.fatal) { window.state.fatal = data.details; }
    });
    hls.attachMedia(video);
    load = (u) => hls.loadSource(u);
    window.player = hls;
  } else {
    const dash = dashjs.MediaPlayer().create();
    dash.updateSettings(merge(profiles[profile].dash, extra));
    const E = dashjs.MediaPlayer.events;
    dash.on(E.MANIFEST_LOADED, () => mark('manifest loaded'));
    dash.on(E.STREAM_INITIALIZED, () => mark('stream initialized'));
    dash.on(E.FRAGMENT_LOADING_COMPLETED, (e) => {
      const r = e.request || {};
      mark(r.mediaType + ' ' + (r.type === 'InitializationSegment' ? 'init' : r.index) + ' loaded');
    });
    dash.on(E.BUFFER_LEVEL_UPDATED, (e) => { if (!window.state['buf' + e.mediaType]) { window.state['buf' + e.mediaType] = 1; mark(e.mediaType + ' first append'); } });
    dash.on(E.CAN_PLAY, () => mark('can play'));
    if (startSet) { installDashStartSet(dash, startSet); }
    dash.on(E.ERROR, (e) => {
      const detail = (e.error && e.error.code) + ':' + ((e.error && e.error.message) || String(e.error));
      window.state.errors.push(detail);
      window.state.fatal = detail;
    });
    dash.initialize(video, null, true);
    load = (u) => dash.attachSource(u);
    window.player = dash;
  }
  video.addEventListener('error', () => { window.state.fatal = 'media element error ' + (video.error && video.error.code); });
  video.play().catch(() => {});
  if (url !== null) { load(url); }
  return load;
};
// The requests since the start: name (the last two path parts, no query), start and end in ms from
// the start, bytes received.
window.resources = function () {
  const t0 = window.state.t0;
  return performance.getEntriesByType('resource').filter((r) => r.startTime >= t0).map((r) => {
    const parts = new URL(r.name).pathname.split('/');
    return { name: parts.slice(-2).join('/'), start: r.startTime - t0, end: r.responseEnd - t0, bytes: r.encodedBodySize || r.transferSize || 0 };
  });
};
</script></body></html>`;

// One start in a fresh browser context: waits for the first frame (or a fatal error or the
// timeout) and returns { ttffMs, resources, events }; throws with the page's state when it never came.
async function oneStart(browser, origin, args, i) {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(origin + '/');
    if (args.play) {
      await tab.evaluate(([p, u, profile, extra, on]) => { window.startViaPlay(p, u, profile, extra, on); }, [args.player, args.play, args.profile, args.config, args.startSet === 'on']);
    } else {
      await tab.evaluate(([p, u, profile, extra]) => window.start(p, u, profile, extra), [args.player, args.url, args.profile, args.config]);
    }
    const deadline = Date.now() + args.timeoutSeconds * 1000;
    let state;
    do {
      await sleep(5);
      state = await tab.evaluate(() => window.state);
    } while (state.firstFrameMs === null && !state.fatal && Date.now() <= deadline);
    // Requests finishing just after the first frame still belong to the start's picture.
    await sleep(50);
    const resources = await tab.evaluate(() => window.resources());
    if (state.firstFrameMs === null) { throw new Error(`start ${i} showed no frame: ${JSON.stringify({ state, resources })}`); }
    return { ttffMs: state.firstFrameMs, resources, events: state.events };
  } finally {
    await context.close();
  }
}

// runInChromium prints `RESULT {json}`: ok with ttffMs and starts, or ok false with the error.
async function main() {
  const args = parseArgs(process.argv);
  const server = await servePage(page);
  const origin = 'http://127.0.0.1:' + server.address().port;
  try {
    await runInChromium(async (browser, result) => {
      result.starts = [];
      for (let i = 0; i < args.starts; i++) { result.starts.push(await oneStart(browser, origin, args, i)); }
      result.ttffMs = result.starts.map((s) => s.ttffMs);
    });
  } finally {
    server.close();
  }
}

main().catch((e) => { console.log('RESULT ' + JSON.stringify({ ok: false, error: String((e && e.stack) || e) })); process.exit(1); });
