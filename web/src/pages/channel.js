// A channel: its name, subscriber count, subscribe button and published titles.
import { h, plural } from '../dom.js';
import { api, auth } from '../api.js';
import { titleGrid } from './browse.js';

export function subscribeButton(channelId, onChange = () => {}) {
  const button = h('button', { class: 'subscribe', 'data-testid': 'subscribe' }, 'Subscribe');
  let subscribed = false;
  const show = () => { button.textContent = subscribed ? 'Subscribed ✓' : 'Subscribe'; button.classList.toggle('on', subscribed); };
  if (auth.user) {
    api('subscriptions').then((list) => { subscribed = list.some((c) => c.id === channelId); show(); }).catch(() => {});
  }
  button.addEventListener('click', async () => {
    if (!auth.user) { location.assign('/login?next=' + encodeURIComponent(location.pathname)); return; }
    button.disabled = true;
    try {
      await api(`channels/${channelId}/subscription`, { method: subscribed ? 'DELETE' : 'PUT' });
      subscribed = !subscribed;
      show();
      onChange(subscribed);
    } catch (e) { button.textContent = e.message; } finally { button.disabled = false; }
  });
  return button;
}

export async function channelPage(main, channelId) {
  const channel = await api('channels/' + channelId);
  document.title = `${channel.name} · OpenConnect`;
  const subscribers = h('span', { class: 'muted' }, plural(channel.subscribers, 'subscriber'));
  const titles = await api(`titles?channel=${encodeURIComponent(channelId)}&limit=48`);
  main.replaceChildren(
    h('div', { class: 'channel-head' }, h('h1', {}, channel.name), subscribers,
      subscribeButton(channelId, (on) => { channel.subscribers += on ? 1 : -1; subscribers.textContent = plural(channel.subscribers, 'subscriber'); })),
    channel.description ? h('p', {}, channel.description) : null,
    titleGrid(titles.items, 'No published titles yet.'));
}
