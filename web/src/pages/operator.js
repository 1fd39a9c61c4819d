// The operator page (admins only): sites and appliances with health, load, hit ratio and fill
// progress against the night window. The origin reads steering's roster and the fill controller's
// sites with its own fleet certificate (GET /api/v1/operator/fleet); the browser holds no operator
// credential. Refreshes every 5 s.
import { h } from '../dom.js';
import { api, auth, ApiError } from '../api.js';
import { age, bitrate, fillSummary, percent, rosterSummary } from './fleet-format.js';

const REFRESH_MS = 5000;

export async function operatorPage(main) {
  document.title = 'Operator · OpenConnect';
  const user = auth.user;
  if (!user || user.role !== 'admin') {
    main.replaceChildren(h('h1', {}, 'Operator'), h('p', { class: 'error', 'data-testid': 'operator-denied' },
      user ? 'The operator page is for admin accounts.' : 'Log in with an admin account to see the operator page.'));
    return null;
  }

  const summary = h('p', { 'data-testid': 'fleet-summary' }, 'loading…');
  const problems = h('div', { 'data-testid': 'fleet-problems' });
  const sites = h('div', { 'data-testid': 'sites' });
  const appliances = h('div', { 'data-testid': 'appliances' });
  const updated = h('p', { class: 'muted', 'data-testid': 'fleet-updated' });
  main.replaceChildren(h('h1', {}, 'Operator'), summary, problems, h('h2', {}, 'Sites'), sites, h('h2', {}, 'Appliances'), appliances, updated);

  let stopped = false;
  let timer = null;
  const refresh = async () => {
    try {
      const view = await api('operator/fleet');
      draw(view, { summary, problems, sites, appliances });
      updated.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        stopped = true;
        main.replaceChildren(h('h1', {}, 'Operator'), h('p', { class: 'error', 'data-testid': 'operator-denied' }, `Not allowed: ${e.message}`));
        return;
      }
      updated.textContent = `Refresh failed: ${e.message}`;
    }
    if (!stopped) { timer = setTimeout(refresh, REFRESH_MS); }
  };
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function draw(view, { summary, problems, sites, appliances }) {
  const roster = view.roster || { sites: [], appliances: [] };
  const fill = view.fill ? Object.fromEntries(view.fill.sites.map((s) => [s.site, s])) : null;
  summary.textContent = view.roster ? rosterSummary(roster) : 'Steering\'s roster is unavailable.';
  problems.replaceChildren(...[
    view.rosterError ? `Steering: ${view.rosterError}` : null,
    view.fillError ? `Fill controller: ${view.fillError}` : null,
    view.fill && view.fill.rosterError ? `Fill controller: ${view.fill.rosterError}` : null,
  ].filter(Boolean).map((text) => h('p', { class: 'notice' }, text)));

  const siteNames = [...new Set([...roster.sites.map((s) => s.name), ...(fill ? Object.keys(fill) : [])])].sort();
  sites.replaceChildren(siteNames.length === 0 ? h('p', { class: 'muted' }, 'No sites yet.') : table(
    ['Site', 'Healthy', 'Out / capacity', 'Connections', 'Hit ratio', 'Fill progress'],
    siteNames.map((name) => {
      const site = roster.sites.find((s) => s.name === name);
      const progress = fill && fill[name];
      return h('tr', { 'data-site': name },
        h('td', {}, name),
        h('td', {}, site ? `${site.healthy} of ${site.appliances}` : '0'),
        h('td', {}, site ? `${bitrate(site.bytesPerSecondOut)} / ${bitrate(site.capacityBytesPerSecond)}` : '–'),
        h('td', { class: 'num' }, site ? String(site.connections) : '–'),
        h('td', { class: 'num' }, percent(site && site.hitRatio)),
        h('td', { class: 'fill' }, progress ? fillCell(progress) : fill ? 'no window' : 'fill controller not configured'));
    })));

  appliances.replaceChildren(roster.appliances.length === 0 ? h('p', { class: 'muted' }, 'No appliances registered.') : table(
    ['Site', 'Appliance', 'Health', 'Load', 'Out', 'Connections', 'Hit ratio', 'Last heartbeat', 'Titles', 'Version'],
    roster.appliances.map((a) => h('tr', { 'data-appliance': a.id, 'data-health': a.health },
      h('td', {}, a.site),
      h('td', { title: a.publicUrl }, a.id),
      h('td', {}, h('span', { class: `health ${a.health}` }, a.health)),
      h('td', {}, bar(a.load, percent(a.load))),
      h('td', { class: 'num' }, bitrate(a.bytesPerSecondOut)),
      h('td', { class: 'num' }, `${a.connections}${a.maxConnections ? ' / ' + a.maxConnections : ''}`),
      h('td', { class: 'num' }, percent(a.hitRatio)),
      h('td', {}, age(a.heartbeatAgeSeconds)),
      h('td', { class: 'num' }, String(a.titles)),
      h('td', {}, a.version || '–')))));
}

function fillCell(site) {
  // The bar is copies complete; the tick is how far the clock is through the night window.
  const meter = bar(site.progress || 0, fillSummary(site));
  if (site.open) {
    meter.append(h('span', { class: 'tick', style: `left:${Math.round(site.windowElapsed * 100)}%`, title: `${percent(site.windowElapsed)} of the window gone` }));
  }
  return meter;
}

function bar(fraction, label) {
  const width = Math.max(0, Math.min(1, fraction || 0)) * 100;
  return h('div', { class: 'meter' }, h('span', { class: 'meter-fill', style: `width:${width.toFixed(1)}%` }), h('span', { class: 'meter-label' }, label));
}

function table(headers, rows) {
  return h('table', { class: 'fleet' }, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
}
