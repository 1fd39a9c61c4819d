// Log in and registration.
import { h } from '../dom.js';
import { api, auth } from '../api.js';
import { navigate } from '../main.js';

function form(title, fields, submitLabel, onSubmit, footer) {
  const error = h('p', { class: 'error', role: 'alert' });
  const f = h('form', { class: 'form narrow' }, h('h1', {}, title), fields, h('button', { type: 'submit' }, submitLabel), error, footer);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try { await onSubmit(f); } catch (x) { error.textContent = x.message; }
  });
  return f;
}

const field = (label, name, type = 'text', extra = {}) => h('label', {}, label, h('input', { name, type, required: '', ...extra }));

async function signIn(name, password) {
  auth.set(await api('auth/login', { method: 'POST', body: { name, password }, token: null }));
  navigate(new URLSearchParams(location.search).get('next') || '/');
}

export function loginPage(main) {
  document.title = 'Log in · OpenConnect';
  main.replaceChildren(form('Log in', [field('Name', 'name', 'text', { autocomplete: 'username' }), field('Password', 'password', 'password', { autocomplete: 'current-password' })], 'Log in',
    (f) => signIn(f.name.value, f.password.value),
    h('p', {}, 'No account? ', h('a', { href: '/register', 'data-link': '' }, 'Register'))));
}

export function registerPage(main) {
  document.title = 'Register · OpenConnect';
  // Registering makes a viewer; an invite code from an admin makes an uploader with a channel.
  const invite = h('label', {}, 'Invite code (optional: to upload videos)', h('input', { name: 'invite', type: 'text', autocomplete: 'off' }));
  main.replaceChildren(form('Register', [field('Name', 'name', 'text', { autocomplete: 'username' }), field('Password', 'password', 'password', { autocomplete: 'new-password', minlength: '8' }), invite], 'Create account',
    async (f) => {
      const code = f.invite.value.trim();
      await api('auth/register', { method: 'POST', body: { name: f.name.value, password: f.password.value, ...(code ? { invite: code } : {}) }, token: null });
      await signIn(f.name.value, f.password.value);
    },
    h('p', {}, 'Have an account? ', h('a', { href: '/login', 'data-link': '' }, 'Log in'))));
}
