// Pure formatting for the operator page (tested in web/test/fleet-format.test.mjs).

/** A fraction as a whole percentage, or '–' when unknown. */
export function percent(fraction) {
  return Number.isFinite(fraction) ? `${Math.round(fraction * 100)} %` : '–';
}

/** Bytes per second as Mbit/s or Gbit/s. */
export function bitrate(bytesPerSecond) {
  const bits = (bytesPerSecond || 0) * 8;
  return bits >= 1e9 ? `${(bits / 1e9).toFixed(2)} Gbit/s` : `${(bits / 1e6).toFixed(1)} Mbit/s`;
}

/** Seconds since the last heartbeat, short. */
export function age(seconds) {
  if (!Number.isFinite(seconds)) { return '–'; }
  if (seconds < 120) { return `${Math.round(seconds)} s ago`; }
  if (seconds < 7200) { return `${Math.round(seconds / 60)} min ago`; }
  return `${Math.round(seconds / 3600)} h ago`;
}

/** A UTC instant as HH:MM UTC. */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '–' : `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
}

/**
 * One site's fill line: copies complete of planned and where the clock is in the night window.
 * `site` is an entry of the fill controller's /fill/sites.
 */
export function fillSummary(site) {
  const copies = site.copiesPlanned > 0
    ? `${site.copiesComplete} of ${site.copiesPlanned} copies (${percent(site.progress)})${site.copiesFailed > 0 ? `, ${site.copiesFailed} failed` : ''}`
    : 'nothing planned';
  const window = site.open
    ? `open until ${clock(site.openUntil)}, ${percent(site.windowElapsed)} of the window gone`
    : `window ${clock(site.windowStart)}–${clock(site.windowEnd)}`;
  return `${copies} · ${window}`;
}

/** The fleet's one-line summary from steering's roster. */
export function rosterSummary(roster) {
  const all = roster.appliances || [];
  const counts = {};
  for (const a of all) { counts[a.health] = (counts[a.health] || 0) + 1; }
  const parts = ['healthy', 'draining', 'expired', 'cache-failed'].filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`);
  const sites = (roster.sites || []).length;
  return `${all.length} appliance${all.length === 1 ? '' : 's'} in ${sites} site${sites === 1 ? '' : 's'}${parts.length ? ': ' + parts.join(', ') : ''}`;
}
