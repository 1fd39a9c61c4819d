// The live notification bell: a Server-Sent Events stream of the user's notifications (new uploads on
// subscribed channels). The stream stays open across page changes; it is restarted only when the
// header is redrawn for another user.
import { h, ago } from './dom.js';
import { auth } from './api.js';

let stream = null;
let streamUser = null;
const items = [];
let unseen = 0;
let slot = null;

export function startBell(target) {
  slot = target;
  const user = auth.user;
  if (!stream || streamUser !== user.id) {
    if (stream) { stream.close(); }
    items.length = 0;
    unseen = 0;
    streamUser = user.id;
    stream = new EventSource('/api/v1/notifications/stream?access_token=' + encodeURIComponent(auth.token));
    stream.addEventListener('open', () => { document.body.dataset.bell = 'connected'; });
    stream.addEventListener('notification', (e) => {
      const n = JSON.parse(e.data);
      n.receivedAt = Date.now();
      items.unshift(n);
      unseen++;
      draw();
    });
  }
  draw();
}

export function stopBell() {
  if (stream) { stream.close(); stream = null; streamUser = null; }
}

function draw() {
  if (!slot || !slot.isConnected) { return; }
  const list = h('div', { class: 'bell-list', hidden: '' },
    items.length ? items.slice(0, 20).map((n) => h('a', { href: '/watch/' + n.titleId, 'data-link': '', class: 'notification', 'data-title': n.titleId, 'data-received-at': String(n.receivedAt) }, n.message, h('small', {}, ' ', ago(n.createdAt)))) : h('p', { class: 'muted' }, 'No notifications yet.'));
  const button = h('button', { class: 'bell', 'aria-label': 'Notifications', 'data-count': String(unseen) }, 'Notifications', unseen ? h('span', { class: 'badge' }, String(unseen)) : null);
  button.addEventListener('click', () => { list.hidden = !list.hidden; unseen = 0; button.querySelector('.badge')?.remove(); });
  slot.replaceChildren(h('span', { class: 'bell-wrap' }, button, list));
}
