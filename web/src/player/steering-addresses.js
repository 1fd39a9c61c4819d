// Steering has several replicas with no shared store, each answering /play for any title; the page
// reaches them through more than one address and starts through whichever answers first.
//
// A dead address must not cost the start more than a moment. A refused connection fails at once and
// the next address is asked at once. A black-holed one (host down, packets dropped) would hold a
// fetch until the TCP connect gives up, which takes Chromium minutes: so when an address has not
// answered within HEDGE_MS the next one is asked beside it (the first is not abandoned: a slow but
// live replica may still win). The first good answer is used and the other requests are aborted.
// An error answer (4xx, e.g. an unknown title) is steering's answer and is not asked elsewhere; a
// 5xx means that replica is in trouble and the next is asked. The address that answered last comes
// first next time (localStorage), so a dead replica costs at most one hedge per browser.

// A healthy replica answers /play in well under 100 ms; one second is ten times that on a busy box,
// and hedging early costs only one more request, never the answer of a slow replica.
export const HEDGE_MS = 1000;

// No single request waits longer than this (with every address tried, the start fails with the reasons).
export const ATTEMPT_TIMEOUT_MS = 10000;

const REMEMBERED = 'oc.steering';

// The steering addresses of the app's config: `steeringUrls` (a list, one per replica or name)
// or `steeringUrl` (one). Trailing slashes dropped, duplicates removed, order kept.
export function steeringAddresses(config) {
  const list = Array.isArray(config && config.steeringUrls) && config.steeringUrls.length ? config.steeringUrls : [config && config.steeringUrl];
  return orderedAddresses(list);
}

function orderedAddresses(list) {
  const seen = new Set();
  const out = [];
  for (const item of Array.isArray(list) ? list : [list]) {
    if (typeof item !== 'string' || !item.trim()) { continue; }
    const url = item.trim().replace(/\/+$/, '');
    if (!seen.has(url)) { seen.add(url); out.push(url); }
  }
  return out;
}

function storage() {
  try { return typeof localStorage === 'undefined' ? null : localStorage; } catch { return null; }
}

// The addresses in the order to ask them: the one that answered last first.
export function askingOrder(addresses, store = storage()) {
  const last = store && store.getItem(REMEMBERED);
  return last && addresses.includes(last) ? [last, ...addresses.filter((a) => a !== last)] : addresses;
}

// Asks steering for a title through the first address that answers. Resolves to
// { play, steeringUrl, attempts } (attempts: each address asked, in order, with `ms` when it answered
// or `error` when it failed; a black-holed one is still pending, `hedged: true`), or rejects with
// every address's reason. `query` (e.g. '?start=hls', start-set.js startQuery) is added to each request.
export function fetchPlayFrom(steering, titleId, { hedgeMs = HEDGE_MS, timeoutMs = ATTEMPT_TIMEOUT_MS, store = storage(), query = '' } = {}) {
  const addresses = askingOrder(orderedAddresses(steering), store);
  if (!addresses.length) { return Promise.reject(new Error('no steering address configured')); }
  const started = performance.now();
  const attempts = [];
  const controllers = [];
  let next = 0;
  let pending = 0;
  let settled = false;
  let hedge = null;
  return new Promise((resolve, reject) => {
    function finish(ok, value) {
      if (settled) { return; }
      settled = true;
      clearTimeout(hedge);
      for (const c of controllers) { c.abort(); }
      (ok ? resolve : reject)(value);
    }

    function askNext() {
      if (settled || next >= addresses.length) { return; }
      const url = addresses[next++];
      const attempt = { url, at: Math.round(performance.now() - started) };
      attempts.push(attempt);
      const controller = new AbortController();
      controllers.push(controller);
      pending++;
      clearTimeout(hedge);
      hedge = setTimeout(() => { attempt.hedged = true; askNext(); }, hedgeMs);
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      fetch(`${url}/play/${encodeURIComponent(titleId)}${query}`, { headers: { accept: 'application/json' }, signal: controller.signal })
        .then(async (response) => {
          if (response.status >= 500) { throw new Error(`answered ${response.status}`); }
          const body = await response.text();
          attempt.ms = Math.round(performance.now() - started);
          if (!response.ok) {
            attempt.error = `answered ${response.status}`;
            finish(false, new Error(`steering answered ${response.status}: ${body}`));
            return;
          }
          const play = JSON.parse(body);
          if (store) { try { store.setItem(REMEMBERED, url); } catch { /* private mode: nothing remembered */ } }
          finish(true, { play, steeringUrl: url, attempts });
        })
        .catch((e) => {
          if (settled) { return; }
          attempt.error = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : String(e && e.message || e);
          attempt.ms = Math.round(performance.now() - started);
          pending--;
          if (next < addresses.length) {
            askNext();
          } else if (pending === 0) {
            finish(false, new Error('no steering address answered: ' + attempts.map((a) => `${a.url}: ${a.error}`).join('; ')));
          }
        })
        .finally(() => clearTimeout(timer));
    }

    askNext();
  });
}

// The /play answer alone (see fetchPlayFrom).
export async function fetchPlay(steering, titleId, options) {
  return (await fetchPlayFrom(steering, titleId, options)).play;
}
