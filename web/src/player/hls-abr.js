// The seed's ABR rules as an hls.js abrController (hls.js config `abrController`): hls.js asks it
// for `nextAutoLevel` before each fragment; the rules in abr-rules.js answer from the last few
// fragments' throughput and the buffer ahead of the playhead.
import { DEFAULTS, ThroughputWindow, chooseRendition } from './abr-rules.js';
import { startRendition } from './start-config.js';

// `throughputHint` (bits per second, or null) picks the first level (start-config.js).
export function seedAbrControllerFor(Hls, throughputHint = null) {
  return class SeedAbrController {
    constructor(hls) {
      this.hls = hls;
      this.window = new ThroughputWindow();
      this.forced = -1;
      // Set once the buffer first reaches the low-buffer threshold (the end of start-up).
      this.filled = false;
      this.onFragLoaded = (_, data) => {
        const frag = data.frag;
        if (!frag || frag.type !== 'main' || frag.sn === 'initSegment') { return; }
        const stats = data.frag.stats || data.stats;
        const ms = stats.loading.end - stats.loading.start;
        this.window.add(stats.loaded || stats.total, ms);
      };
      hls.on(Hls.Events.FRAG_LOADED, this.onFragLoaded);
      // hls.bandwidthEstimate (and Content Steering's _HLS_throughput) read this.
      this.bwEstimator = { getEstimate: () => this.window.estimate() ?? NaN, canEstimate: () => this.window.estimate() !== null };
    }

    // Levels sorted by bitrate, with their hls.js indexes.
    ladder() {
      return (this.hls.levels || []).map((l, i) => ({ i, bitrate: l.bitrate || l.averageBitrate || 0 })).sort((a, b) => a.bitrate - b.bitrate);
    }

    get firstAutoLevel() {
      const ladder = this.ladder();
      return ladder.length ? ladder[startRendition(ladder.map((l) => l.bitrate), throughputHint)].i : 0;
    }

    get forcedAutoLevel() { return this.forced; }

    get nextAutoLevel() {
      if (this.forced !== -1) { return this.forced; }
      const ladder = this.ladder();
      if (ladder.length === 0) { return 0; }
      const currentLevel = this.hls.loadLevel >= 0 ? this.hls.loadLevel : this.firstAutoLevel;
      const current = Math.max(0, ladder.findIndex((l) => l.i === currentLevel));
      const buffer = bufferAhead(this.hls.media);
      this.filled ||= buffer >= DEFAULTS.panicBufferSeconds;
      const choice = chooseRendition(ladder.map((l) => l.bitrate), current, this.window.estimate(), buffer, this.filled);
      return ladder[choice].i;
    }

    // hls.js sets this after a load error to steer away from a failing level.
    set nextAutoLevel(level) { this.forced = level; queueMicrotask(() => { this.forced = -1; }); }

    resetEstimator() { this.window.reset(); }

    destroy() { this.hls.off(Hls.Events.FRAG_LOADED, this.onFragLoaded); }
  };
}

// Seconds of media buffered ahead of the playhead.
export function bufferAhead(media) {
  if (!media) { return 0; }
  const t = media.currentTime;
  const b = media.buffered;
  for (let i = 0; i < b.length; i++) {
    if (b.start(i) <= t + 0.1 && t < b.end(i)) { return b.end(i) - t; }
  }
  return 0;
}
