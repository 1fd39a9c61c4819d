// The reference player: asks steering for the title (/play/{titleId}), starts the chosen engine on
// the steered manifest, draws its own controls (seek bar with storyboard thumbnails, rendition and
// ABR choice, keyboard shortcuts) and reports QoE.
import { startEngine } from './engines.js';
import { readThroughputHint, saveThroughputHint } from './start-config.js';
import { QoeSession } from './qoe.js';
import { parseStoryboard, cueAt } from './storyboard.js';
import { h, formatTime } from '../dom.js';
import { fetchPlayFrom } from './steering-addresses.js';
import { startQuery, withStartSet } from './start-set.js';

export const ENGINES = ['hls', 'dash', 'shaka'];
export const ABR_RULES = ['seed', 'builtin'];

// Asks steering for a title (its /play answer: ranked signed URLs, the steered manifests' URLs)
// through the first of its addresses that answers.
export { fetchPlay } from './steering-addresses.js';

// `steering`: steering's address, or a list of them (one per replica; see steering-addresses.js).
// `play` (optional): a promise of the /play answer the page asked for while it loaded the title's
// data (with its start set already fetching, start-set.js), so the first start does not wait for one
// more request; a restart asks again, with a start set for the engine chosen.
export function mountPlayer(container, { titleId, steering, engine = 'hls', abr = 'seed', play: early = null, onChange = () => {} }) {
  const video = h('video', { playsinline: '', autoplay: '', muted: '', preload: 'auto', class: 'video' });
  video.muted = true;
  const status = h('div', { class: 'player-status', 'data-testid': 'player-status' }, 'asking steering…');
  const playButton = h('button', { class: 'ctl', title: 'Play/pause (k or space)', 'aria-label': 'Play or pause' }, '▶');
  const time = h('span', { class: 'time' }, '0:00 / 0:00');
  const seek = h('input', { type: 'range', min: '0', max: '1000', value: '0', class: 'seek', 'aria-label': 'Seek' });
  const preview = h('div', { class: 'preview', hidden: '' });
  const previewTime = h('span', { class: 'preview-time' });
  preview.append(previewTime);
  const muteButton = h('button', { class: 'ctl', title: 'Mute (m)' }, 'Unmute');
  const fullButton = h('button', { class: 'ctl', title: 'Full screen (f)' }, 'Full screen');
  const engineSelect = select(ENGINES, engine, { hls: 'hls.js', dash: 'dash.js', shaka: 'Shaka' }, 'Player engine');
  const abrSelect = select(ABR_RULES, abr, { seed: 'Seed ABR', builtin: 'Built-in ABR' }, 'ABR rule');
  const quality = h('select', { class: 'quality', 'aria-label': 'Rendition' }, h('option', { value: '-1' }, 'Auto'));
  const info = h('div', { class: 'player-info', 'data-testid': 'player-info' });
  const seekWrap = h('div', { class: 'seek-wrap' }, seek, preview);
  const bar = h('div', { class: 'controls' }, playButton, time, seekWrap, muteButton, quality, engineSelect, abrSelect, fullButton);
  const box = h('div', { class: 'player', tabindex: '0' }, video, status, bar, info);
  container.replaceChildren(box);

  const state = { engine: null, qoe: null, cues: [], renditionKbps: 0, height: 0, appliance: null, site: null, hosts: {} };
  window.ocPlayer = state; // for the end-to-end tests and for curious viewers
  state.video = video;

  async function start() {
    status.textContent = 'asking steering…';
    status.hidden = false;
    const qoe = new QoeSession({ video, title: titleId, player: engineSelect.value, abr: abrSelect.value });
    state.qoe = qoe;
    let play;
    const hint = readThroughputHint(localStorage);
    try {
      play = await (early || fetchPlayFrom(steering, titleId, { query: startQuery(engineSelect.value, hint) }).then((r) => { state.steeringUrl = r.steeringUrl; return withStartSet(r.play); }));
      early = null;
    } catch (e) {
      early = null;
      status.textContent = 'cannot start: ' + e.message;
      qoe.fatal(e.message);
      return;
    }
    state.site = play.site;
    state.play = play;
    // Segment hosts → appliance ids, from the pathways steering offered.
    for (const p of [...play.hls.pathways, ...play.dash.pathways]) {
      state.hosts[new URL(p.url).host] = p.applianceId || p.id;
    }
    qoe.where(play.site, null);
    loadStoryboard(play);
    try {
      state.engine = await startEngine(engineSelect.value, video, play, abrSelect.value, {
        segment(url) {
          const host = new URL(url, location.href).host;
          state.appliance = state.hosts[host] || host;
          state.lastSegmentHost = host;
          qoe.where(null, state.appliance);
          showInfo();
          const estimate = state.engine && state.engine.estimateKbps();
          if (estimate) { saveThroughputHint(localStorage, estimate * 1000); }
        },
        rendition(kbps, height) {
          qoe.bitrate(kbps, true);
          state.renditionKbps = kbps;
          state.height = height;
          showInfo();
        },
        fatal(detail) {
          status.hidden = false;
          status.textContent = 'playback failed: ' + detail;
          qoe.fatal(detail);
        },
      }, hint);
    } catch (e) {
      status.textContent = 'cannot start: ' + e.message;
      qoe.fatal(e.message);
      return;
    }
    video.play().catch(() => {});
  }

  async function loadStoryboard(play) {
    const first = play.hls.pathways[0];
    if (!first) { return; }
    const base = first.url.replace(/[^/]*$/, '');
    try {
      const response = await fetch(base + 'storyboard.vtt');
      if (response.ok) { state.cues = parseStoryboard(await response.text(), base + 'storyboard.vtt'); }
    } catch { /* no storyboard: the seek bar works without thumbnails */ }
  }

  function stop() {
    if (state.qoe) { state.qoe.finish(); }
    if (state.engine) { state.engine.destroy(); }
    state.engine = null;
  }

  function showInfo() {
    const estimate = state.engine && state.engine.estimateKbps();
    info.textContent = [
      state.height ? `${state.height}p · ${Math.round(state.renditionKbps)} kbit/s` : '',
      estimate ? `estimate ${Math.round(estimate)} kbit/s` : '',
      state.appliance ? `from ${state.appliance}` : '',
      state.site ? `site ${state.site}` : '',
    ].filter(Boolean).join(' · ');
    if (state.engine && quality.options.length <= 1) {
      for (const r of state.engine.renditions()) { quality.append(h('option', { value: String(r.index) }, `${r.height}p (${r.kbps} kbit/s)`)); }
    }
  }

  function restart() {
    stop();
    quality.replaceChildren(h('option', { value: '-1' }, 'Auto'));
    video.removeAttribute('src');
    video.load();
    onChange({ engine: engineSelect.value, abr: abrSelect.value });
    start();
  }

  video.addEventListener('playing', () => { status.hidden = true; playButton.textContent = '❚❚'; });
  video.addEventListener('pause', () => { playButton.textContent = '▶'; });
  video.addEventListener('waiting', () => { if (!video.seeking) { status.hidden = false; status.textContent = 'buffering…'; } });
  video.addEventListener('timeupdate', () => {
    time.textContent = `${formatTime(video.currentTime)} / ${formatTime(video.duration)}`;
    if (!seek.matches(':active') && video.duration) { seek.value = String(Math.round((video.currentTime / video.duration) * 1000)); }
  });
  playButton.addEventListener('click', () => toggle());
  muteButton.addEventListener('click', () => { video.muted = !video.muted; muteButton.textContent = video.muted ? 'Unmute' : 'Mute'; });
  fullButton.addEventListener('click', () => fullscreen());
  seek.addEventListener('input', () => { if (video.duration) { video.currentTime = (seek.value / 1000) * video.duration; } showPreview(seek.value / 1000); });
  seek.addEventListener('change', () => { preview.hidden = true; });
  seekWrap.addEventListener('pointermove', (e) => {
    const r = seek.getBoundingClientRect();
    showPreview(Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)));
  });
  seekWrap.addEventListener('pointerleave', () => { preview.hidden = true; });
  quality.addEventListener('change', () => state.engine && state.engine.select(Number(quality.value)));
  engineSelect.addEventListener('change', restart);
  abrSelect.addEventListener('change', restart);
  box.addEventListener('keydown', (e) => shortcut(e));

  function showPreview(fraction) {
    if (!video.duration) { return; }
    const t = fraction * video.duration;
    const cue = cueAt(state.cues, t);
    previewTime.textContent = formatTime(t);
    preview.style.left = `calc(${fraction * 100}% - 80px)`;
    if (cue) {
      preview.style.backgroundImage = `url("${cue.url}")`;
      preview.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
      preview.style.width = cue.w + 'px';
      preview.style.height = cue.h + 'px';
      preview.classList.add('thumb');
    }
    preview.hidden = false;
  }

  function toggle() { if (video.paused) { video.play().catch(() => {}); } else { video.pause(); } }

  function fullscreen() {
    if (document.fullscreenElement) { document.exitFullscreen(); } else { box.requestFullscreen && box.requestFullscreen().catch(() => {}); }
  }

  // Keyboard: space/k play-pause, j/l ±10 s, ←/→ ±5 s, ↑/↓ volume, m mute, f full screen, 0–9 jump to 0–90 %.
  function shortcut(e) {
    if (e.target.tagName === 'SELECT' || e.ctrlKey || e.metaKey || e.altKey) { return; }
    const k = e.key;
    const jump = (s) => { video.currentTime = Math.max(0, Math.min((video.duration || 0) - 0.1, video.currentTime + s)); };
    if (k === ' ' || k === 'k') { toggle(); } else if (k === 'j') { jump(-10); } else if (k === 'l') { jump(10); } else if (k === 'ArrowLeft') { jump(-5); } else if (k === 'ArrowRight') { jump(5); } else if (k === 'ArrowUp') { video.volume = Math.min(1, video.volume + 0.1); } else if (k === 'ArrowDown') { video.volume = Math.max(0, video.volume - 0.1); } else if (k === 'm') { muteButton.click(); } else if (k === 'f') { fullscreen(); } else if (/^[0-9]$/.test(k) && video.duration) { video.currentTime = (Number(k) / 10) * video.duration; } else { return; }
    e.preventDefault();
  }

  start();
  return { stop, state };
}

function select(values, chosen, labels, label) {
  const s = h('select', { 'aria-label': label });
  for (const v of values) { s.append(h('option', { value: v }, labels[v])); }
  s.value = chosen;
  return s;
}
