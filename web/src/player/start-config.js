// Start-up settings: what brings the first frame sooner, measured with `bench ttff` (its `fast`
// profile, tests/node/play-ttff.js, uses the same settings).
//  - hls.js: no bandwidth test (with testBandwidth and an automatic start level hls.js first loads a
//    segment of the lowest rendition only to time it, and throws it away), the start fragment is
//    fetched while the MediaSource opens (startFragPrefetch), no transmuxing worker (a fresh page
//    spends hundreds of ms starting one, which compiles hls.js a second time; our segments are fMP4,
//    which hls.js only passes through, so the main thread loses nothing), and the start rendition
//    comes from a throughput hint instead of a fixed guess.
//  - dash.js: the start bitrate comes from the same hint (streaming.abr.initialBitrate).
// The hint is the last estimate this browser measured (saved while playing); without one the player
// starts at the lowest rendition, whose first segment is the smallest request.

export const THROUGHPUT_KEY = 'oc.throughputBps';

// A first segment is fetched at most at this share of the hinted throughput, so it arrives in well
// under its own duration even when the hint is optimistic.
export const START_SHARE = 0.5;

// Readings outside this range are not a throughput (a corrupted or hand-edited value).
const MAX_BPS = 10e9;

// The saved hint in bits per second, or null when there is none or it is not a plausible number.
export function readThroughputHint(storage) {
  let raw = null;
  try { raw = storage && storage.getItem(THROUGHPUT_KEY); } catch { return null; }
  const bps = Number(raw);
  return raw !== null && Number.isFinite(bps) && bps > 0 && bps <= MAX_BPS ? bps : null;
}

// Saves an estimate (bits per second) for the next start; ignores what is not a plausible reading.
export function saveThroughputHint(storage, bps) {
  if (!(Number.isFinite(bps) && bps > 0 && bps <= MAX_BPS)) { return; }
  try { storage.setItem(THROUGHPUT_KEY, String(Math.round(bps))); } catch { /* private mode or full: no hint next time */ }
}

// The start rendition for bitrates sorted ascending: the highest whose bitrate fits in START_SHARE of
// the hint, else the lowest (also without a hint).
export function startRendition(bitrates, hintBps) {
  if (!hintBps || bitrates.length === 0) { return 0; }
  let choice = 0;
  for (let i = 0; i < bitrates.length; i++) {
    if (bitrates[i] <= hintBps * START_SHARE) { choice = i; }
  }
  return choice;
}

// hls.js config entries for a fast start. hls.js picks its automatic start level from
// abrEwmaDefaultEstimate: the hint scaled by START_SHARE, or 1 bit/s (the lowest level) without one.
export function hlsStartConfig(hintBps) {
  return {
    testBandwidth: false,
    startFragPrefetch: true,
    enableWorker: false,
    abrEwmaDefaultEstimate: hintBps ? hintBps * START_SHARE : 1,
  };
}

// dash.js settings for a fast start: initialBitrate is in kbit/s; 1 means the lowest representation.
export function dashStartSettings(hintBps) {
  return { streaming: { abr: { initialBitrate: { video: hintBps ? Math.max(1, Math.round((hintBps * START_SHARE) / 1000)) : 1 } } } };
}
