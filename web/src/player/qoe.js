// QoE telemetry for one play: time to first frame, rebuffering (count and duration, after the first
// frame and not caused by seeking), start failures (Vsf), exits before start (EBVS), switches,
// bitrate played and fatal errors. Reports go to the origin's /api/qoe with navigator.sendBeacon:
// `start` at the first frame, `progress` every 10 s and `end` when the page goes away, each with
// what happened since the previous report.

const REPORT_EVERY_MS = 10_000;

export function newSessionId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class QoeSession {
  constructor({ video, title, player, abr, endpoint = '/api/qoe', send = defaultSend }) {
    this.video = video;
    this.base = { session: newSessionId(), title, player, abr };
    this.endpoint = endpoint;
    this.send = send;
    this.t0 = performance.now();
    this.site = null;
    this.appliance = null;
    this.firstFrameMs = null;
    this.ended = false;
    this.bitrateKbps = 0;
    this.sent = [];
    this.resetInterval();
    this.stallStart = null;
    this.lastTick = null;
    this.onWaiting = () => {
      if (this.firstFrameMs !== null && !video.seeking && this.stallStart === null) {
        this.tick();
        this.stallStart = performance.now();
        this.interval.rebufferCount++;
      }
    };
    this.onPlaying = () => { this.endStall(); this.lastTick = performance.now(); };
    this.onPause = () => { this.tick(); this.lastTick = null; };
    video.addEventListener('waiting', this.onWaiting);
    video.addEventListener('playing', this.onPlaying);
    video.addEventListener('pause', this.onPause);
    const onFrame = () => this.firstFrame();
    if (video.requestVideoFrameCallback) { video.requestVideoFrameCallback(onFrame); } else { video.addEventListener('playing', onFrame, { once: true }); }
    this.timer = setInterval(() => this.report('progress'), REPORT_EVERY_MS);
    this.onHide = () => this.finish();
    window.addEventListener('pagehide', this.onHide);
  }

  get sessionId() { return this.base.session; }

  resetInterval() { this.interval = { playSeconds: 0, rebufferSeconds: 0, rebufferCount: 0, switches: 0, playedKbits: 0 }; }

  // Accumulates play time (and bits played at the current bitrate) up to now.
  tick() {
    const now = performance.now();
    if (this.lastTick !== null && this.stallStart === null && !this.video.paused) {
      const seconds = (now - this.lastTick) / 1000;
      this.interval.playSeconds += seconds;
      this.interval.playedKbits += seconds * this.bitrateKbps;
    }
    this.lastTick = this.video.paused ? null : now;
  }

  endStall() {
    if (this.stallStart !== null) {
      this.interval.rebufferSeconds += (performance.now() - this.stallStart) / 1000;
      this.stallStart = null;
    }
  }

  where(site, appliance) {
    if (site) { this.site = site; }
    if (appliance) { this.appliance = appliance; }
  }

  bitrate(kbps, isSwitch) {
    this.tick();
    if (isSwitch && this.bitrateKbps > 0 && kbps !== this.bitrateKbps) { this.interval.switches++; }
    this.bitrateKbps = kbps;
  }

  firstFrame() {
    if (this.firstFrameMs !== null || this.ended) { return; }
    this.firstFrameMs = performance.now() - this.t0;
    this.lastTick = performance.now();
    this.post({ kind: 'start', ttffMs: Math.max(1, Math.round(this.firstFrameMs)), ...(this.bitrateKbps > 0 ? { bitrateKbps: round(this.bitrateKbps) } : {}) });
  }

  fatal(error) {
    if (this.ended) { return; }
    const text = String(error).slice(0, 200);
    if (this.firstFrameMs === null) {
      this.post({ kind: 'failure', error: text });
      this.stop();
    } else {
      this.report('error', { error: text });
    }
  }

  report(kind, extra = {}) {
    if (this.ended && kind !== 'end') { return; }
    if (this.firstFrameMs === null) { return; }
    this.tick();
    if (this.stallStart !== null) {
      this.interval.rebufferSeconds += (performance.now() - this.stallStart) / 1000;
      this.stallStart = performance.now();
    }
    const i = this.interval;
    this.resetInterval();
    this.post({
      kind,
      playSeconds: round(i.playSeconds),
      rebufferSeconds: round(i.rebufferSeconds),
      rebufferCount: i.rebufferCount,
      switches: i.switches,
      playedKbits: round(i.playedKbits),
      bitrateKbps: round(this.bitrateKbps),
      ...extra,
    });
  }

  // The viewer leaves: an `end` report, or an exit before video start.
  finish() {
    if (this.ended) { return; }
    if (this.firstFrameMs === null) { this.post({ kind: 'exit' }); } else { this.report('end'); }
    this.stop();
  }

  stop() {
    this.ended = true;
    clearInterval(this.timer);
    window.removeEventListener('pagehide', this.onHide);
    this.video.removeEventListener('waiting', this.onWaiting);
    this.video.removeEventListener('playing', this.onPlaying);
    this.video.removeEventListener('pause', this.onPause);
  }

  post(fields) {
    const body = { ...this.base, ...fields };
    if (this.site) { body.site = this.site; }
    if (this.appliance) { body.appliance = this.appliance; }
    this.sent.push(body);
    this.send(this.endpoint, JSON.stringify(body));
  }
}

function round(x) { return Math.round(x * 1000) / 1000; }

function defaultSend(url, text) {
  // A string body goes as text/plain: no CORS preflight, and the origin accepts it.
  if (!(navigator.sendBeacon && navigator.sendBeacon(url, text))) {
    fetch(url, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' }, keepalive: true }).catch(() => {});
  }
}
