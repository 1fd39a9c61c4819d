// The watch page: player, title info, view count, likes, subscribe, threaded comments.
import { h, formatCount, ago, plural } from '../dom.js';
import { api, auth, appConfig } from '../api.js';
import { mountPlayer, fetchPlay } from '../player/player.js';
import { preloadEngine } from '../player/engines.js';
import { steeringAddresses } from '../player/steering-addresses.js';
import { newSessionId } from '../player/qoe.js';
import { startQuery, withStartSet } from '../player/start-set.js';
import { readThroughputHint } from '../player/start-config.js';
import { subscribeButton } from './channel.js';

export async function watchPage(main, titleId) {
  const params = new URLSearchParams(location.search);
  const prefs = JSON.parse(localStorage.getItem('oc.player') || '{}');
  const engine = params.get('player') || prefs.engine || 'hls';
  const abr = params.get('abr') || prefs.abr || 'seed';
  // Steering's /play answer is asked for beside the title's data, not after it: the player starts on
  // it without one more request in series. With it comes the start set for this engine (start-set.js),
  // fetched as soon as /play answers. An unpublished title gets an error it never uses.
  const configured = appConfig();
  // Every steering address the config names: a dead replica costs the start at most one hedge.
  const query = startQuery(engine, readThroughputHint(localStorage));
  const play = configured.then((c) => fetchPlay(steeringAddresses(c), titleId, { query })).then(withStartSet);
  play.catch(() => {});
  preloadEngine(engine);
  const [title, config] = await Promise.all([api('titles/' + titleId), configured]);
  document.title = `${title.title} · OpenConnect`;

  const playerSlot = h('div', { class: 'player-slot' });
  const views = h('span', { 'data-testid': 'views' }, plural(title.views, 'view', formatCount));
  const likes = ratingButtons(title);
  const channel = title.channelId ? await api('channels/' + title.channelId).catch(() => null) : null;
  const comments = h('section', { class: 'comments' });
  main.replaceChildren(
    h('div', { class: 'watch' },
      playerSlot,
      h('h1', { class: 'watch-title' }, title.title),
      h('div', { class: 'watch-meta' }, views, h('span', { class: 'muted' }, title.publishedAt ? ago(title.publishedAt) : title.status), likes),
      channel ? h('div', { class: 'channel-line' }, h('a', { href: '/channel/' + channel.id, 'data-link': '' }, channel.name), h('span', { class: 'muted' }, ` ${plural(channel.subscribers, 'subscriber')} `), subscribeButton(channel.id)) : null,
      title.description ? h('p', { class: 'description' }, title.description) : null,
      title.tags.length ? h('p', { class: 'tags' }, title.tags.map((t) => h('a', { href: '/search?q=' + encodeURIComponent(t), 'data-link': '' }, '#' + t))) : null,
      comments));

  if (title.status !== 'published') {
    playerSlot.replaceChildren(h('div', { class: 'player placeholder' }, `This title is ${title.status}${title.failureReason ? ': ' + title.failureReason : ''}.`));
  }
  const player = title.status === 'published'
    ? mountPlayer(playerSlot, { titleId, steering: steeringAddresses(config), engine, abr, play, onChange: (p) => localStorage.setItem('oc.player', JSON.stringify(p)) })
    : null;
  // A view counts once per page session; the origin aggregates them.
  api(`titles/${titleId}/views`, { method: 'POST', body: { sessionId: newSessionId() }, token: null }).catch(() => {});
  renderComments(comments, titleId);
  return () => player && player.stop();
}

function ratingButtons(title) {
  const like = h('button', { class: 'rate', 'data-testid': 'like' }, `Like ${title.likes}`);
  const dislike = h('button', { class: 'rate', 'data-testid': 'dislike' }, `Dislike ${title.dislikes}`);
  let mine = 'none';
  const show = (r) => {
    like.textContent = `Like ${r.likes}`;
    dislike.textContent = `Dislike ${r.dislikes}`;
    like.classList.toggle('on', mine === 'like');
    dislike.classList.toggle('on', mine === 'dislike');
  };
  if (auth.user) { api(`titles/${title.id}/rating`).then((r) => { mine = r.rating; show({ likes: title.likes, dislikes: title.dislikes }); }).catch(() => {}); }
  const rate = async (which) => {
    if (!auth.user) { location.assign('/login?next=' + encodeURIComponent(location.pathname)); return; }
    const next = mine === which ? 'none' : which;
    const r = await api(`titles/${title.id}/rating`, { method: 'PUT', body: { rating: next } });
    mine = next;
    show(r);
  };
  like.addEventListener('click', () => rate('like'));
  dislike.addEventListener('click', () => rate('dislike'));
  return h('span', { class: 'rating' }, like, dislike);
}

async function renderComments(section, titleId) {
  const list = h('ul', { class: 'comment-list', 'data-testid': 'comments' });
  section.replaceChildren(h('h2', {}, 'Comments'), auth.user ? commentForm(titleId, null, (c) => list.prepend(commentItem(titleId, c))) : h('p', { class: 'muted' }, h('a', { href: '/login?next=' + encodeURIComponent(location.pathname), 'data-link': '' }, 'Log in'), ' to comment.'), list);
  await loadComments(list, titleId, null);
}

async function loadComments(list, titleId, parent, cursor) {
  const page = await api(`titles/${titleId}/comments?limit=50${parent ? '&parent=' + parent : ''}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
  for (const c of page.items) { list.append(commentItem(titleId, c)); }
  if (page.nextCursor) {
    const more = h('button', { class: 'link' }, 'More comments');
    more.addEventListener('click', () => { more.remove(); loadComments(list, titleId, parent, page.nextCursor); });
    list.append(h('li', {}, more));
  }
}

function commentItem(titleId, c) {
  const replies = h('ul', { class: 'comment-list replies' });
  const actions = h('div', { class: 'comment-actions' });
  if (c.replies > 0) {
    const show = h('button', { class: 'link' }, `${c.replies} repl${c.replies === 1 ? 'y' : 'ies'}`);
    show.addEventListener('click', () => { show.remove(); loadComments(replies, titleId, c.id); });
    actions.append(show);
  }
  if (auth.user && !c.parentId) {
    const reply = h('button', { class: 'link' }, 'Reply');
    reply.addEventListener('click', () => { reply.remove(); actions.after(commentForm(titleId, c.id, (r) => replies.append(commentItem(titleId, r)))); });
    actions.append(reply);
  }
  return h('li', { class: 'comment', 'data-comment': String(c.id) },
    h('div', {}, h('strong', {}, c.userName), h('span', { class: 'muted' }, ' ', ago(c.createdAt))),
    h('p', {}, c.deleted ? '[deleted]' : c.body), actions, replies);
}

function commentForm(titleId, parentId, added) {
  const text = h('textarea', { name: 'body', rows: '2', maxlength: '2000', placeholder: parentId ? 'Reply…' : 'Add a comment…', required: '' });
  const error = h('span', { class: 'error' });
  const f = h('form', { class: 'comment-form' }, text, h('button', { type: 'submit' }, parentId ? 'Reply' : 'Comment'), error);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const c = await api(`titles/${titleId}/comments`, { method: 'POST', body: { body: text.value, parentId } });
      text.value = '';
      added(c);
    } catch (x) { error.textContent = x.message; }
  });
  return f;
}
