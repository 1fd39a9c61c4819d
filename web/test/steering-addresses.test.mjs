import { test } from 'node:test';
import assert from 'node:assert/strict';
import { steeringAddresses, askingOrder, fetchPlayFrom } from '../src/player/steering-addresses.js';

function memoryStorage(initial = {}) {
  const items = { ...initial };
  return { items, getItem: (k) => (k in items ? items[k] : null), setItem: (k, v) => { items[k] = String(v); } };
}

// A fetch stand-in: each address behaves as told ('refuse', 'silent', a status code, or a delay before 200).
function fakeFetch(behaviour) {
  const asked = [];
  const fetch = (url, { signal }) => {
    const address = Object.keys(behaviour).find((a) => url.startsWith(a + '/play/'));
    asked.push(address);
    const how = behaviour[address];
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')));
      const answer = (status) => resolve({ status, ok: status < 400, text: async () => JSON.stringify({ from: address, status }) });
      if (how === 'refuse') { reject(new TypeError('Failed to fetch')); }
      else if (how === 'silent') { /* never settles unless aborted */ }
      else if (typeof how === 'number') { answer(how); }
      else { setTimeout(() => answer(200), how.delayMs); }
    });
  };
  return { fetch, asked };
}

async function withFetch(fake, run) {
  const saved = globalThis.fetch;
  globalThis.fetch = fake.fetch;
  try { return await run(); } finally { globalThis.fetch = saved; }
}

test('the config list wins over the single address; slashes and duplicates are dropped', () => {
  assert.deepEqual(steeringAddresses({ steeringUrl: 'http://a', steeringUrls: ['http://b/', 'http://c', 'http://b'] }), ['http://b', 'http://c']);
  assert.deepEqual(steeringAddresses({ steeringUrl: 'http://a/' }), ['http://a']);
  assert.deepEqual(steeringAddresses({ steeringUrl: 'http://a', steeringUrls: [] }), ['http://a']);
});

test('the address that answered last is asked first', () => {
  assert.deepEqual(askingOrder(['http://a', 'http://b'], memoryStorage({ 'oc.steering': 'http://b' })), ['http://b', 'http://a']);
  assert.deepEqual(askingOrder(['http://a', 'http://b'], memoryStorage({ 'oc.steering': 'http://gone' })), ['http://a', 'http://b']);
});

test('a refused address is passed over at once, and the one that answered is remembered', async () => {
  const fake = fakeFetch({ 'http://a': 'refuse', 'http://b': 200 });
  const store = memoryStorage();
  const result = await withFetch(fake, () => fetchPlayFrom(['http://a', 'http://b'], 't1', { hedgeMs: 5000, store }));
  assert.equal(result.steeringUrl, 'http://b');
  assert.deepEqual(fake.asked, ['http://a', 'http://b']);
  assert.ok(result.attempts[1].at < 1000, `the second address was asked after ${result.attempts[1].at} ms`);
  assert.equal(store.items['oc.steering'], 'http://b');
});

test('a silent address is hedged after hedgeMs, not abandoned, and the next answer wins', async () => {
  const fake = fakeFetch({ 'http://a': 'silent', 'http://b': 200 });
  const result = await withFetch(fake, () => fetchPlayFrom(['http://a', 'http://b'], 't1', { hedgeMs: 50, store: memoryStorage() }));
  assert.equal(result.steeringUrl, 'http://b');
  assert.equal(result.attempts[0].hedged, true);
  assert.equal(result.attempts[0].error, undefined);
  assert.ok(result.attempts[1].at >= 45, `hedged after ${result.attempts[1].at} ms`);
});

test('a 5xx moves on; a 4xx is steering\'s answer and is not asked elsewhere', async () => {
  const fiveHundred = fakeFetch({ 'http://a': 503, 'http://b': 200 });
  assert.equal((await withFetch(fiveHundred, () => fetchPlayFrom(['http://a', 'http://b'], 't', { store: null }))).steeringUrl, 'http://b');

  const notFound = fakeFetch({ 'http://a': 404, 'http://b': 200 });
  await assert.rejects(withFetch(notFound, () => fetchPlayFrom(['http://a', 'http://b'], 't', { store: null })), /steering answered 404/);
  assert.deepEqual(notFound.asked, ['http://a']);
});

test('when every address fails, the error names each', async () => {
  const fake = fakeFetch({ 'http://a': 'refuse', 'http://b': 502 });
  await assert.rejects(withFetch(fake, () => fetchPlayFrom(['http://a', 'http://b'], 't', { store: null })), (e) => e.message.includes('http://a: Failed to fetch') && e.message.includes('http://b: answered 502'));
  await assert.rejects(fetchPlayFrom([], 't', { store: null }), /no steering address configured/);
});

test('a request that never answers gives up after timeoutMs', async () => {
  const fake = fakeFetch({ 'http://a': 'silent' });
  await assert.rejects(withFetch(fake, () => fetchPlayFrom(['http://a'], 't', { hedgeMs: 1000, timeoutMs: 60, store: null })), /no answer within 60 ms/);
});
