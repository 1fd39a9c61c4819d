// The seed's ABR rules (design section 7), as pure functions the player adapters call:
//  - throughput: bits received / time taken over the last few segments (a sliding window);
//  - switch up only when that estimate exceeds 1.5x the bitrate of the rendition switched to
//    (so the literal rule "estimate > 1.5 x current bitrate" holds for the new rendition too);
//  - switch down at once when the buffer falls under 5 s, to the highest rendition the estimate
//    carries, and always at least one step. "Falls under" means after the buffer first reached 5 s
//    (bufferFilled): during start-up every buffer is under 5 s, and dropping then would undo every
//    up-switch the start-up estimate allows. The players bench's C# rule reads it the same way.
// Renditions are given as bitrates in bits per second, sorted ascending (index 0 = lowest).

export const DEFAULTS = Object.freeze({ window: 3, upFactor: 1.5, panicBufferSeconds: 5 });

export class ThroughputWindow {
  constructor(size = DEFAULTS.window) {
    if (!(size >= 1)) { throw new RangeError('window size must be at least 1'); }
    this.size = size;
    this.samples = [];
  }

  // One finished segment download: its size in bytes and how long it took in milliseconds.
  add(bytes, milliseconds) {
    if (!(bytes > 0) || !(milliseconds > 0)) { return; }
    this.samples.push({ bits: bytes * 8, seconds: milliseconds / 1000 });
    if (this.samples.length > this.size) { this.samples.shift(); }
  }

  // Bits per second over the window, or null before the first segment.
  estimate() {
    if (this.samples.length === 0) { return null; }
    let bits = 0;
    let seconds = 0;
    for (const s of this.samples) { bits += s.bits; seconds += s.seconds; }
    return bits / seconds;
  }

  reset() { this.samples = []; }
}

// The rendition to load next.
//   bitrates: ascending bits/s; current: index in use; estimate: bits/s or null;
//   bufferSeconds: media buffered ahead of the playhead;
//   bufferFilled: whether the buffer has reached panicBufferSeconds since playback started.
export function chooseRendition(bitrates, current, estimate, bufferSeconds, bufferFilled = true, options = DEFAULTS) {
  const n = bitrates.length;
  if (n === 0) { return -1; }
  const cur = Math.min(Math.max(current, 0), n - 1);
  if (estimate === null || estimate === undefined || !Number.isFinite(estimate)) {
    return cur;
  }
  const factor = options.upFactor ?? DEFAULTS.upFactor;
  const panic = options.panicBufferSeconds ?? DEFAULTS.panicBufferSeconds;
  if (bufferFilled && bufferSeconds < panic) {
    if (cur === 0) { return 0; }
    let fit = 0;
    for (let i = 0; i < n; i++) { if (bitrates[i] <= estimate) { fit = i; } }
    return Math.min(fit, cur - 1);
  }
  let up = cur;
  for (let i = cur + 1; i < n; i++) {
    if (estimate > bitrates[i] * factor) { up = i; }
  }
  return up;
}
