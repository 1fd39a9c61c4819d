// The OpenConnect web app: a small client-side router over the origin's catalog API. Each page is
// a function that fills <main>; links carry data-link and are handled here without a reload.
import { h } from './dom.js';
import { auth, api } from './api.js';
import { homePage, searchPage } from './pages/browse.js';
import { watchPage } from './pages/watch.js';
import { channelPage } from './pages/channel.js';
import { uploadPage } from './pages/upload.js';
import { loginPage, registerPage } from './pages/account.js';
import { qoePage } from './pages/qoe.js';
import { operatorPage } from './pages/operator.js';
import { startBell, stopBell } from './bell.js';
import './style.css';

const routes = [
  [/^\/$/, homePage],
  [/^\/search$/, searchPage],
  [/^\/watch\/([A-Za-z0-9_-]+)$/, watchPage],
  [/^\/channel\/([A-Za-z0-9_-]+)$/, channelPage],
  [/^\/upload$/, uploadPage],
  [/^\/login$/, loginPage],
  [/^\/register$/, registerPage],
  [/^\/qoe$/, qoePage],
  [/^\/operator$/, operatorPage],
];

let cleanup = null;

export function navigate(path) {
  history.pushState(null, '', path);
  render();
}

async function render() {
  if (cleanup) { try { cleanup(); } catch { /* a page's teardown never blocks the next page */ } cleanup = null; }
  const main = document.getElementById('main');
  const path = location.pathname.replace(/^\/app(?=\/)/, '');
  renderHeader();
  for (const [pattern, page] of routes) {
    const m = pattern.exec(path);
    if (m) {
      main.replaceChildren(h('p', { class: 'muted' }, 'loading…'));
      try {
        cleanup = (await page(main, ...m.slice(1))) || null;
      } catch (e) {
        main.replaceChildren(h('p', { class: 'error' }, e.message));
      }
      return;
    }
  }
  main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'There is no page at ', h('code', {}, path), '.'));
}

function renderHeader() {
  const user = auth.user;
  const q = new URLSearchParams(location.search).get('q') || '';
  const form = h('form', { class: 'search', role: 'search', action: '/search' },
    h('input', { type: 'search', name: 'q', placeholder: 'Search', value: q, 'aria-label': 'Search' }),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (e) => { e.preventDefault(); navigate('/search?q=' + encodeURIComponent(form.q.value)); });
  const nav = h('nav', {},
    user && user.role !== 'viewer' ? h('a', { href: '/upload', 'data-link': '' }, 'Upload') : null,
    user && user.role === 'admin' ? h('a', { href: '/operator', 'data-link': '' }, 'Operator') : null,
    user && user.channelId ? h('a', { href: '/channel/' + user.channelId, 'data-link': '' }, 'My channel') : null,
    user ? h('span', { id: 'bell-slot' }) : null,
    user ? h('span', { class: 'user' }, user.name) : h('a', { href: '/login', 'data-link': '' }, 'Log in'),
    user ? h('button', { class: 'link', onclick: logout }, 'Log out') : h('a', { href: '/register', 'data-link': '' }, 'Register'));
  document.getElementById('header').replaceChildren(h('a', { href: '/', class: 'logo', 'data-link': '' }, 'OpenConnect'), form, nav);
  if (user) { startBell(document.getElementById('bell-slot')); }
}

async function logout() {
  try { await api('auth/logout', { method: 'POST' }); } catch { /* the token may already be gone */ }
  auth.clear();
  stopBell();
  navigate('/');
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (a && !e.ctrlKey && !e.metaKey && !e.shiftKey && a.origin === location.origin) {
    e.preventDefault();
    navigate(a.pathname + a.search);
  }
});
window.addEventListener('popstate', render);
render();
