// The seed's ABR rules for players whose ABR cannot be replaced from outside (dash.js, Shaka): their
// own ABR is switched off and this loop picks the rendition after every finished video segment,
// through the players' public "select this rendition" calls.
import { DEFAULTS, ThroughputWindow, chooseRendition } from './abr-rules.js';
import { bufferAhead } from './hls-abr.js';

export class ManualSeedAbr {
  // ladder(): [{ bitrate, select() }] ascending; current(): index into it.
  constructor(media, ladder, current) {
    this.media = media;
    this.ladder = ladder;
    this.current = current;
    this.window = new ThroughputWindow();
    // Set once the buffer first reaches the low-buffer threshold (the end of start-up).
    this.filled = false;
  }

  segmentLoaded(bytes, milliseconds) {
    this.window.add(bytes, milliseconds);
    const ladder = this.ladder();
    if (ladder.length < 2) { return; }
    const cur = Math.max(0, this.current());
    const buffer = bufferAhead(this.media);
    this.filled ||= buffer >= DEFAULTS.panicBufferSeconds;
    const next = chooseRendition(ladder.map((l) => l.bitrate), cur, this.window.estimate(), buffer, this.filled);
    if (next !== cur) { ladder[next].select(); }
  }

  estimate() { return this.window.estimate(); }
}
