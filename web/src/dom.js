// A tiny element builder: h('a', { href: '/x' }, 'text', child). Text is always set as text, never HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) { continue; }
    if (k.startsWith('on') && typeof v === 'function') { el.addEventListener(k.slice(2), v); } else { el.setAttribute(k, v === true ? '' : String(v)); }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) { continue; }
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function formatTime(s) {
  if (!Number.isFinite(s)) { return '0:00'; }
  const m = Math.floor(s / 60);
  const r = Math.floor(s % 60);
  return `${m}:${String(r).padStart(2, '0')}`;
}

export function formatCount(n) {
  return n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'k' : String(n);
}

export function ago(iso) {
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  if (s < 60) { return 'just now'; }
  if (s < 3600) { return Math.floor(s / 60) + ' min ago'; }
  if (s < 86400) { return Math.floor(s / 3600) + ' h ago'; }
  return Math.floor(s / 86400) + ' days ago';
}

export function plural(n, word, format = String) {
  return `${format(n)} ${word}${n === 1 ? '' : 's'}`;
}
