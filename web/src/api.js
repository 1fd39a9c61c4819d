// The origin's catalog API and the signed-in user (bearer token in localStorage).
const TOKEN = 'oc.token';
const USER = 'oc.user';

export const auth = {
  get token() { return localStorage.getItem(TOKEN); },
  get user() { const u = localStorage.getItem(USER); return u ? JSON.parse(u) : null; },
  set(login) { localStorage.setItem(TOKEN, login.token); localStorage.setItem(USER, JSON.stringify(login.user)); },
  clear() { localStorage.removeItem(TOKEN); localStorage.removeItem(USER); },
};

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(path, { method = 'GET', body, token = auth.token } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) { headers['content-type'] = 'application/json'; }
  if (token) { headers.authorization = 'Bearer ' + token; }
  const response = await fetch(path.startsWith('/') ? path : '/api/v1/' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) { return null; }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!response.ok) { throw new ApiError(response.status, (data && data.error) || `HTTP ${response.status}`); }
  return data;
}

let config = null;
export async function appConfig() {
  if (!config) { config = await api('/app/config.json', { token: null }); }
  return config;
}
