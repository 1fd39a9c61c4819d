// Storyboard thumbnails: the package's storyboard.vtt lists one cue per thumbnail, each pointing at a
// tile of a sprite (`storyboard-001.jpg#xywh=x,y,w,h`). Parsed once; looked up while scrubbing.

export function parseStoryboard(text, baseUrl) {
  const cues = [];
  const blocks = text.replace(/\r/g, '').split(/\n\n+/);
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim().length);
    const timing = lines.findIndex((l) => l.includes('-->'));
    if (timing < 0 || !lines[timing + 1]) { continue; }
    const [from, to] = lines[timing].split('-->').map((s) => seconds(s.trim().split(/\s+/)[0]));
    const target = lines[timing + 1].trim();
    const m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(target);
    if (!m) { continue; }
    cues.push({ from, to, url: new URL(m[1], baseUrl).toString(), x: +m[2], y: +m[3], w: +m[4], h: +m[5] });
  }
  return cues;
}

export function cueAt(cues, t) {
  let lo = 0;
  let hi = cues.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t < cues[mid].from) { hi = mid - 1; } else if (t >= cues[mid].to) { lo = mid + 1; } else { return cues[mid]; }
  }
  return cues.length && t >= cues[cues.length - 1].to ? cues[cues.length - 1] : null;
}

function seconds(text) {
  const parts = text.split(':').map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}
