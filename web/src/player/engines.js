// The three player engines behind one small interface. Each is loaded on demand (code splitting)
// and started from steering's /play answer: the steered HLS multivariant or DASH MPD, whose
// Content Steering lets the player move to the next pathway when an appliance fails.
//
// ABR: "builtin" leaves each player's own ABR on. "seed" uses the seed's rules: for hls.js as a
// replacement abrController (hls.js asks it before every fragment); for dash.js and Shaka, which
// take no outside ABR controller through their public API, their ABR is switched off and the rules
// pick the rendition after each finished video segment (ManualSeedAbr).
import { seedAbrControllerFor } from './hls-abr.js';
import { ManualSeedAbr } from './manual-abr.js';
import { hlsStartConfig, dashStartSettings } from './start-config.js';
import { hlsStartSetLoader, installDashStartSet } from './start-set.js';

// Media segments are <rendition>/seg-NNNNN.m4s; video renditions are named <height>p[-codec].
const isSegment = (url) => /\/seg-[0-9]+\.m4s(\?|$)/.test(url);
const isVideoSegment = (url) => isSegment(url) && /\/[0-9]+p[^/]*\/seg-/.test(url);

// A protected title's /play answer names its EME ClearKey licence server (the origin's licence
// endpoint with this play's token): drm['org.w3.clearkey'].licenseUrl. Clear titles have no drm.
export const CLEAR_KEY = 'org.w3.clearkey';
export const clearKeyLicenseUrl = (play) => (play && play.drm && play.drm[CLEAR_KEY] && play.drm[CLEAR_KEY].licenseUrl) || null;

// Starts loading an engine's code (its own chunk) without starting it, so a page that knows which
// engine it will start fetches and compiles the code beside its other requests, not after them.
export function preloadEngine(kind) {
  const code = kind === 'hls' ? import('hls.js') : kind === 'dash' ? import('dashjs') : kind === 'shaka' ? import('shaka-player') : null;
  if (code) { code.catch(() => {}); }
}

// `throughputHint` (bits per second, or null) picks the start rendition (start-config.js).
// `play.startSet` (start-set.js), when it was fetched for this engine, answers the player's first requests.
export async function startEngine(kind, video, play, abr, events, throughputHint = null) {
  if (kind === 'hls') { return startHls(video, play, abr, events, throughputHint); }
  if (kind === 'dash') { return startDash(video, play, abr, events, throughputHint); }
  if (kind === 'shaka') { return startShaka(video, play, abr, events); }
  throw new Error('unknown player ' + kind);
}

async function startHls(video, play, abr, events, throughputHint) {
  const { default: Hls } = await import('hls.js');
  if (!Hls.isSupported()) { throw new Error('this browser has no Media Source Extensions'); }
  const config = { maxBufferLength: 30, backBufferLength: 30, ...hlsStartConfig(throughputHint) };
  if (abr === 'seed') { config.abrController = seedAbrControllerFor(Hls, throughputHint); }
  const licenseUrl = clearKeyLicenseUrl(play);
  if (licenseUrl) {
    // The playlists' EXT-X-KEY (KEYFORMAT="org.w3.clearkey") carry the key id; the key comes from here.
    config.emeEnabled = true;
    config.drmSystems = { [CLEAR_KEY]: { licenseUrl } };
  }
  const startSet = startSetFor(play, 'hls');
  if (startSet) { config.loader = hlsStartSetLoader(Hls.DefaultConfig.loader, startSet); }
  const hls = new Hls(config);
  hls.on(Hls.Events.FRAG_LOADED, (_, data) => { if (data.frag.type === 'main') { events.segment(data.frag.url); } });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => {
    const level = hls.levels[data.level];
    if (level) { events.rendition(level.bitrate / 1000, level.height); }
  });
  hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) { events.fatal(data.type + ':' + data.details); } });
  hls.loadSource(play.hls.url);
  hls.attachMedia(video);
  return {
    instance: hls,
    renditions: () => hls.levels.map((l, i) => ({ index: i, height: l.height, kbps: Math.round(l.bitrate / 1000) })),
    select: (i) => { hls.currentLevel = i; },
    estimateKbps: () => (Number.isFinite(hls.bandwidthEstimate) ? hls.bandwidthEstimate / 1000 : null),
    destroy: () => { hls.destroy(); if (startSet) { startSet.clear(); } },
  };
}

async function startDash(video, play, abr, events, throughputHint) {
  const dashjs = await import('dashjs');
  const player = dashjs.MediaPlayer().create();
  const startSet = startSetFor(play, 'dash');
  const seed = abr === 'seed';
  player.updateSettings(dashStartSettings(throughputHint));
  player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: !seed } } } });
  const ladder = () => player.getRepresentationsByType('video').slice().sort((a, b) => a.bandwidth - b.bandwidth);
  const manual = seed ? new ManualSeedAbr(video, () => ladder().map((r) => ({ bitrate: r.bandwidth, select: () => player.setRepresentationForTypeByIndex('video', r.absoluteIndex ?? r.index) })), () => {
    const cur = player.getCurrentRepresentationForType('video');
    return cur ? ladder().findIndex((r) => r.id === cur.id) : 0;
  }) : null;
  player.on(dashjs.MediaPlayer.events.FRAGMENT_LOADING_COMPLETED, (e) => {
    const r = e.request;
    if (!r || r.mediaType !== 'video' || r.type === 'InitializationSegment') { return; }
    events.segment(r.url);
    // A segment from the start set: its fetch's own timing, not the moment dash.js took it from memory.
    const prefetched = startSet && startSet.timing(r.url);
    const start = r.requestStartDate || r.firstByteDate;
    if (manual && prefetched) { manual.segmentLoaded(prefetched.bytes, prefetched.ms); } else if (manual && start && r.requestEndDate) { manual.segmentLoaded(r.bytesLoaded, r.requestEndDate - start); }
  });
  player.on(dashjs.MediaPlayer.events.QUALITY_CHANGE_RENDERED, (e) => {
    if (e.mediaType === 'video' && e.newRepresentation) { events.rendition(e.newRepresentation.bandwidth / 1000, e.newRepresentation.height); }
  });
  player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
    const code = e.error && e.error.code;
    // 17/27 (a segment could not be downloaded) are not fatal: dash.js moves to the next location.
    if (code !== 17 && code !== 27) { events.fatal('dash:' + code + ':' + ((e.error && e.error.message) || '')); }
  });
  const licenseUrl = clearKeyLicenseUrl(play);
  if (licenseUrl) { player.setProtectionData({ [CLEAR_KEY]: { serverURL: licenseUrl } }); }
  if (startSet) { installDashStartSet(player, startSet); }
  player.initialize(video, play.dash.url, true);
  player.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => {
    const cur = player.getCurrentRepresentationForType('video');
    if (cur) { events.rendition(cur.bandwidth / 1000, cur.height); }
  });
  return {
    instance: player,
    renditions: () => ladder().map((r) => ({ index: r.absoluteIndex ?? r.index, height: r.height, kbps: Math.round(r.bandwidth / 1000) })),
    select: (i) => { player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: i < 0 && !seed } } } }); if (i >= 0) { player.setRepresentationForTypeByIndex('video', i); } },
    estimateKbps: () => (manual ? (manual.estimate() ?? 0) / 1000 : player.getAverageThroughput ? player.getAverageThroughput('video') : null),
    destroy: () => { player.destroy(); if (startSet) { startSet.clear(); } },
  };
}

// The /play answer's start set when it was fetched for this engine (a restart on another engine asks again).
function startSetFor(play, kind) {
  return play.startSet && play.startSet.protocol === kind ? play.startSet : null;
}

async function startShaka(video, play, abr, events) {
  const { default: shaka } = await import('shaka-player');
  shaka.polyfill.installAll();
  if (!shaka.Player.isBrowserSupported()) { throw new Error('Shaka Player does not support this browser'); }
  const player = new shaka.Player();
  await player.attach(video);
  const seed = abr === 'seed';
  player.configure({ abr: { enabled: !seed } });
  const licenseUrl = clearKeyLicenseUrl(play);
  if (licenseUrl) { player.configure({ drm: { servers: { [CLEAR_KEY]: licenseUrl } } }); }
  const ladder = () => player.getVariantTracks().slice().sort((a, b) => a.bandwidth - b.bandwidth);
  const manual = seed ? new ManualSeedAbr(video, () => ladder().map((t) => ({ bitrate: t.bandwidth, select: () => player.selectVariantTrack(t, false) })), () => ladder().findIndex((t) => t.active)) : null;
  player.getNetworkingEngine().registerResponseFilter((type, response) => {
    if (type !== shaka.net.NetworkingEngine.RequestType.SEGMENT || !isSegment(response.uri)) { return; }
    events.segment(response.uri);
    if (manual && isVideoSegment(response.uri) && response.timeMs > 0) { manual.segmentLoaded(response.data.byteLength, response.timeMs); }
  });
  const onVariant = () => { const t = ladder().find((x) => x.active); if (t) { events.rendition(t.bandwidth / 1000, t.height); } };
  player.addEventListener('variantchanged', onVariant);
  player.addEventListener('adaptation', onVariant);
  player.addEventListener('error', (e) => { if (e.detail && e.detail.severity === shaka.util.Error.Severity.CRITICAL) { events.fatal('shaka:' + e.detail.code); } });
  await player.load(play.dash.url);
  onVariant();
  video.play().catch(() => {});
  return {
    instance: player,
    renditions: () => ladder().map((t, i) => ({ index: i, height: t.height, kbps: Math.round(t.bandwidth / 1000) })),
    select: (i) => { if (i < 0) { player.configure({ abr: { enabled: !seed } }); } else { player.configure({ abr: { enabled: false } }); player.selectVariantTrack(ladder()[i], true); } },
    estimateKbps: () => (manual ? (manual.estimate() ?? 0) / 1000 : player.getStats().estimatedBandwidth / 1000),
    destroy: () => player.destroy(),
  };
}
