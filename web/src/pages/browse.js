// Home (trending) and search results: lists of title cards.
import { h, formatCount, formatTime, ago, plural } from '../dom.js';
import { api } from '../api.js';

export function titleCard(t) {
  return h('a', { href: '/watch/' + t.id, 'data-link': '', class: 'card', 'data-title': t.id },
    h('div', { class: 'thumb' }, t.posterUrl ? h('img', { src: t.posterUrl, alt: '', loading: 'lazy', onerror: (e) => e.target.remove() }) : null,
      t.durationSeconds ? h('span', { class: 'duration' }, formatTime(t.durationSeconds)) : null),
    h('div', { class: 'card-title' }, t.title),
    h('div', { class: 'muted' }, `${plural(t.views, 'view', formatCount)} · ${t.publishedAt ? ago(t.publishedAt) : t.status}`));
}

export function titleGrid(items, empty) {
  return items.length ? h('div', { class: 'grid' }, items.map(titleCard)) : h('p', { class: 'muted' }, empty);
}

export async function homePage(main) {
  document.title = 'OpenConnect';
  const result = await api('search?sort=trending&limit=24');
  main.replaceChildren(h('h1', {}, 'Trending'), titleGrid(result.items, 'Nothing published yet. Upload a video to get started.'));
}

export async function searchPage(main) {
  const params = new URLSearchParams(location.search);
  const q = params.get('q') || '';
  const sort = params.get('sort') || 'relevance';
  document.title = `${q} · Search · OpenConnect`;
  const result = await api(`search?q=${encodeURIComponent(q)}&sort=${encodeURIComponent(sort)}&limit=24`);
  const corrections = Object.entries(result.corrections || {}).filter(([, v]) => v.length);
  const sorts = h('div', { class: 'sorts' }, ['relevance', 'recent', 'views', 'trending'].map((s) =>
    h('a', { href: `/search?q=${encodeURIComponent(q)}&sort=${s}`, 'data-link': '', class: s === sort ? 'active' : '' }, s)));
  main.replaceChildren(
    h('h1', {}, q ? `Results for “${q}”` : 'All titles'),
    sorts,
    corrections.length ? h('p', { class: 'muted' }, 'Also searched for: ', corrections.map(([w, c]) => `${w} → ${c.join(', ')}`).join('; ')) : null,
    titleGrid(result.items, 'No titles match.'));
}
