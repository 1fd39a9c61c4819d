// The QoE page: what players reported, drawn with our own canvas code — the TTFF distribution, the
// rebuffer ratio by site and appliance, and bitrate over time per session. Refreshes every 5 s.
import { h } from '../dom.js';
import { api } from '../api.js';

export async function qoePage(main) {
  document.title = 'QoE · OpenConnect';
  const totals = h('p', { class: 'muted', 'data-testid': 'qoe-totals' });
  const ttff = canvas();
  const rebuffer = canvas();
  const bitrate = canvas();
  main.replaceChildren(h('h1', {}, 'Quality of experience'), totals,
    h('h2', {}, 'Time to first frame'), ttff,
    h('h2', {}, 'Rebuffer ratio by site and appliance'), rebuffer,
    h('h2', {}, 'Bitrate over time'), bitrate,
    h('p', { class: 'muted' }, 'Prometheus metrics: openconnect_qoe_* on the origin\'s /metrics.'));
  let timer = null;
  const refresh = async () => {
    const s = await api('/api/qoe/summary');
    totals.textContent = `${s.starts.length} recent starts · ${s.startFailures} start failures (Vsf) · ${s.exitsBeforeStart} exits before start (EBVS) · ${s.fatalErrors} fatal errors · ${s.switches} rendition switches`;
    drawHistogram(ttff, s.starts.map((x) => x.ttffMs / 1000));
    drawBars(rebuffer, s.rebuffering.map((r) => ({ label: `${r.site} / ${r.appliance}`, value: r.rebufferRatio * 100, note: `${(r.rebufferRatio * 100).toFixed(2)} % of ${Math.round(r.playSeconds)} s, avg ${Math.round(r.averageKbps)} kbit/s` })));
    drawLines(bitrate, s.bitrate);
  };
  await refresh();
  timer = setInterval(() => refresh().catch(() => {}), 5000);
  return () => clearInterval(timer);
}

function canvas() {
  const c = h('canvas', { class: 'plot', width: '800', height: '240' });
  return c;
}

function frame(c, title) {
  const ctx = c.getContext('2d');
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth || 800;
  const hh = c.clientHeight || 240;
  c.width = w * dpr;
  c.height = hh * dpr;
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, w, hh);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#666';
  if (title) { ctx.fillText(title, 50, 14); }
  return { ctx, w, h: hh, left: 50, right: w - 10, top: 24, bottom: hh - 28 };
}

function axes(f, yMax, yLabel) {
  const { ctx } = f;
  ctx.strokeStyle = '#bbb';
  ctx.beginPath();
  ctx.moveTo(f.left, f.top);
  ctx.lineTo(f.left, f.bottom);
  ctx.lineTo(f.right, f.bottom);
  ctx.stroke();
  ctx.fillStyle = '#666';
  for (let i = 0; i <= 4; i++) {
    const y = f.bottom - ((f.bottom - f.top) * i) / 4;
    ctx.fillText(fmt((yMax * i) / 4), 4, y + 4);
  }
  ctx.fillText(yLabel, 4, f.top - 10);
}

function fmt(x) { return x >= 100 ? Math.round(x).toString() : x.toFixed(x >= 10 ? 0 : 1); }

// TTFF histogram with fixed bucket edges in seconds.
export function drawHistogram(c, values) {
  const edges = [0, 0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 30];
  const counts = edges.slice(0, -1).map((lo, i) => values.filter((v) => v >= lo && (v < edges[i + 1] || (i === edges.length - 2 && v >= edges[i + 1]))).length);
  const f = frame(c, values.length ? `${values.length} starts; median ${fmt(median(values))} s` : 'no starts yet');
  const max = Math.max(1, ...counts);
  axes(f, max, 'starts');
  const bw = (f.right - f.left) / counts.length;
  counts.forEach((n, i) => {
    const bh = ((f.bottom - f.top) * n) / max;
    f.ctx.fillStyle = '#2f6fdf';
    f.ctx.fillRect(f.left + i * bw + 2, f.bottom - bh, bw - 4, bh);
    f.ctx.fillStyle = '#444';
    f.ctx.fillText(`${edges[i]}–${edges[i + 1]}s`, f.left + i * bw + 2, f.bottom + 14);
  });
}

function drawBars(c, rows) {
  const f = frame(c, rows.length ? '' : 'no plays yet');
  const max = Math.max(1, ...rows.map((r) => r.value));
  axes(f, max, '% rebuffering');
  const bw = Math.min(120, (f.right - f.left) / Math.max(1, rows.length));
  rows.forEach((r, i) => {
    const bh = ((f.bottom - f.top) * r.value) / max;
    f.ctx.fillStyle = '#d9822b';
    f.ctx.fillRect(f.left + i * bw + 4, f.bottom - Math.max(1, bh), bw - 8, Math.max(1, bh));
    f.ctx.fillStyle = '#444';
    f.ctx.fillText(r.label, f.left + i * bw + 4, f.bottom + 14);
    f.ctx.fillText(r.note.split(',')[0], f.left + i * bw + 4, f.bottom - Math.max(1, bh) - 4);
  });
}

function drawLines(c, points) {
  const f = frame(c, points.length ? '' : 'no bitrate readings yet');
  if (!points.length) { axes(f, 1, 'kbit/s'); return; }
  const t0 = Math.min(...points.map((p) => Date.parse(p.at)));
  const t1 = Math.max(t0 + 1000, ...points.map((p) => Date.parse(p.at)));
  const max = Math.max(1, ...points.map((p) => p.kbps));
  axes(f, max, 'kbit/s');
  const x = (t) => f.left + ((f.right - f.left) * (t - t0)) / (t1 - t0);
  const y = (v) => f.bottom - ((f.bottom - f.top) * v) / max;
  // One line per session: the summary numbers sessions (series) instead of showing their ids.
  const sessions = new Map();
  for (const p of points) { (sessions.get(p.series) || sessions.set(p.series, []).get(p.series)).push(p); }
  const colors = ['#2f6fdf', '#d9822b', '#2a9d57', '#b23a48', '#7b4fbf'];
  let i = 0;
  for (const list of sessions.values()) {
    f.ctx.strokeStyle = colors[i++ % colors.length];
    f.ctx.beginPath();
    list.forEach((p, j) => { const px = x(Date.parse(p.at)); const py = y(p.kbps); if (j) { f.ctx.lineTo(px, py); } else { f.ctx.moveTo(px, py); } });
    f.ctx.stroke();
  }
  f.ctx.fillStyle = '#444';
  f.ctx.fillText(`${Math.round((t1 - t0) / 1000)} s`, f.right - 40, f.bottom + 14);
}

function median(v) { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }
