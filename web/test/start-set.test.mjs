import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefetchStartSet, startQuery, withStartSet, hlsStartSetLoader, installDashStartSet, bodyAs } from '../src/player/start-set.js';

const BASE = 'http://a1.example:8401/s/TOKEN/v/t1/';
const start = {
  protocol: 'hls',
  resources: [
    { url: 'http://steering.example/play/t1/master.m3u8?session=abc', body: '#EXTM3U\n' },
    { url: BASE + 'r1/index.m3u8', body: '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n' },
    { url: BASE + 'r1/init.mp4' },
    { url: BASE + 'r1/seg-00001.m4s' },
  ],
};

// A fetch that answers from a table (URL → bytes, or a status) and records each call.
function fakeFetch(table) {
  const calls = [];
  const fn = async (url, options) => {
    calls.push({ url, options });
    const answer = table[url];
    if (answer instanceof Error) { throw answer; }
    if (typeof answer === 'number') { return { ok: false, status: answer, arrayBuffer: async () => new ArrayBuffer(0) }; }
    return { ok: true, status: 200, arrayBuffer: async () => new Uint8Array(answer || [1, 2, 3]).buffer };
  };
  return { fn, calls };
}

// A clock that moves 5 ms per reading.
function clock() { let t = 1000; return () => (t += 5); }

test('every listed file is fetched at once, without credentials; inline bodies are not fetched', async () => {
  const { fn, calls } = fakeFetch({});
  const set = prefetchStartSet(start, { fetchFn: fn, now: clock() });
  assert.equal(set.protocol, 'hls');
  assert.equal(set.size, 4);
  // Asked before prefetchStartSet returns, so the caller's next synchronous work does not delay them.
  assert.deepEqual(calls.map((c) => c.url), [BASE + 'r1/init.mp4', BASE + 'r1/seg-00001.m4s']);
  assert.ok(calls.every((c) => c.options.credentials === 'omit'));
  const playlist = await set.take('http://steering.example/play/t1/master.m3u8?session=abc');
  assert.equal(playlist.text, '#EXTM3U\n');
  const segment = await set.take(BASE + 'r1/seg-00001.m4s');
  assert.deepEqual([...new Uint8Array(segment.bytes)], [1, 2, 3]);
  assert.ok(segment.start < segment.first && segment.first <= segment.end, 'the fetch\'s own timing');
});

test('a file is handed out once, by exact URL; unknown URLs and a second take get nothing', async () => {
  const set = prefetchStartSet(start, { fetchFn: fakeFetch({}).fn, now: clock() });
  assert.equal(set.take(BASE + 'r1/seg-00002.m4s'), undefined);
  assert.equal(set.take(BASE + 'r0/seg-00001.m4s'), undefined);
  assert.ok(await set.take(BASE + 'r1/init.mp4'));
  assert.equal(set.take(BASE + 'r1/init.mp4'), undefined);
  const timing = set.timing(BASE + 'r1/init.mp4');
  assert.equal(timing.bytes, 3);
  assert.ok(timing.ms >= 1);
  set.clear();
  assert.equal(set.take(BASE + 'r1/seg-00001.m4s'), undefined, 'cleared with its player');
});

test('a failed or refused fetch hands out null (the player then loads it itself)', async () => {
  const { fn } = fakeFetch({ [BASE + 'r1/init.mp4']: 403, [BASE + 'r1/seg-00001.m4s']: new Error('connection refused') });
  const set = prefetchStartSet(start, { fetchFn: fn, now: clock() });
  assert.equal(await set.take(BASE + 'r1/init.mp4'), null);
  assert.equal(await set.take(BASE + 'r1/seg-00001.m4s'), null);
});

test('a prefetch that does not answer in time is given up: null, and its request aborted', async () => {
  let signal = null;
  const hanging = (url, options) => { signal = options.signal; return new Promise(() => {}); };
  const set = prefetchStartSet({ protocol: 'hls', resources: [{ url: BASE + 'r1/init.mp4' }] }, { fetchFn: hanging, now: clock(), timeoutMs: 20 });
  assert.equal(await set.take(BASE + 'r1/init.mp4'), null);
  assert.equal(signal.aborted, true);
});

test('no start set, bad entries and non-HTTP URLs give nothing to fetch', async () => {
  const { fn, calls } = fakeFetch({});
  assert.equal(prefetchStartSet(null, { fetchFn: fn }).size, 0);
  assert.equal(prefetchStartSet({ resources: 'x' }, { fetchFn: fn }).size, 0);
  const set = prefetchStartSet({ protocol: 'dash', resources: [null, { url: 5 }, { url: 'javascript:alert(1)' }, { url: 'file:///etc/passwd' }, { url: 'not a url' }] }, { fetchFn: fn });
  assert.equal(set.size, 0);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(calls.length, 0);
  assert.deepEqual(withStartSet({ hls: {} }), { hls: {} }, 'an answer without a start set is left as it is');
});

test('the /play query names the engine and the hint; Shaka asks for none', () => {
  assert.equal(startQuery('hls', null), '?start=hls');
  assert.equal(startQuery('dash', 2_500_000.7), '?start=dash&bps=2500001');
  assert.equal(startQuery('shaka', 2_500_000), '');
});

test('bodies come in the form the player asked for', () => {
  assert.equal(bodyAs({ text: 'abc', bytes: null }, 'text'), 'abc');
  assert.deepEqual([...new Uint8Array(bodyAs({ text: 'ab', bytes: null }, 'arraybuffer'))], [97, 98]);
  assert.equal(bodyAs({ text: null, bytes: new Uint8Array([104, 105]).buffer }, ''), 'hi');
});

// The shape of hls.js's BaseLoader that the start-set loader relies on: stats, load once, abort.
class FakeHlsLoader {
  constructor() { this.stats = { loading: { start: 0, first: 0, end: 0 }, loaded: 0, total: 0, aborted: false }; this.network = []; }
  load(context, config, callbacks) {
    if (this.stats.loading.start) { throw new Error('Loader can only be used once.'); }
    this.stats.loading.start = 1;
    this.context = context;
    this.callbacks = callbacks;
    this.network.push(context.url);
  }
  abort() { if (this.callbacks && this.callbacks.onAbort) { this.callbacks.onAbort(this.stats, this.context, null); } }
}

function hlsCallbacks() {
  const seen = { success: [], aborted: 0 };
  return { seen, callbacks: { onSuccess: (response, stats) => seen.success.push({ response, stats: structuredClone(stats) }), onAbort: () => { seen.aborted++; }, onError: () => {}, onTimeout: () => {} } };
}

test('hls.js: the first requests are answered from the start set with the fetch timing; others load', async () => {
  const set = prefetchStartSet(start, { fetchFn: fakeFetch({}).fn, now: clock() });
  const Loader = hlsStartSetLoader(FakeHlsLoader, set);

  const segment = new Loader({});
  const { seen, callbacks } = hlsCallbacks();
  segment.load({ url: BASE + 'r1/seg-00001.m4s', responseType: 'arraybuffer' }, {}, callbacks);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(segment.network, []);
  assert.equal(seen.success.length, 1);
  assert.deepEqual([...new Uint8Array(seen.success[0].response.data)], [1, 2, 3]);
  const { loading, loaded } = seen.success[0].stats;
  assert.equal(loaded, 3);
  assert.ok(loading.start > 1000 && loading.start < loading.first && loading.first <= loading.end, 'the prefetch\'s timing');

  const playlist = new Loader({});
  const p = hlsCallbacks();
  playlist.load({ url: BASE + 'r1/index.m3u8', responseType: 'text' }, {}, p.callbacks);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(p.seen.success[0].response.data, '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n');

  const other = new Loader({});
  other.load({ url: BASE + 'r1/seg-00002.m4s', responseType: 'arraybuffer' }, {}, hlsCallbacks().callbacks);
  assert.deepEqual(other.network, [BASE + 'r1/seg-00002.m4s']);

  const again = new Loader({});
  again.load({ url: BASE + 'r1/seg-00001.m4s', responseType: 'arraybuffer' }, {}, hlsCallbacks().callbacks);
  assert.deepEqual(again.network, [BASE + 'r1/seg-00001.m4s'], 'used once: a reload goes to the network');
});

test('hls.js: byte ranges, failed prefetches and aborts are handled as without a start set', async () => {
  const set = prefetchStartSet(start, { fetchFn: fakeFetch({ [BASE + 'r1/init.mp4']: 404 }).fn, now: clock() });
  const Loader = hlsStartSetLoader(FakeHlsLoader, set);

  const ranged = new Loader({});
  ranged.load({ url: BASE + 'r1/seg-00001.m4s', rangeStart: 0, rangeEnd: 100, responseType: 'arraybuffer' }, {}, hlsCallbacks().callbacks);
  assert.deepEqual(ranged.network, [BASE + 'r1/seg-00001.m4s']);

  const failed = new Loader({});
  const f = hlsCallbacks();
  failed.load({ url: BASE + 'r1/init.mp4', responseType: 'arraybuffer' }, {}, f.callbacks);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(failed.network, [BASE + 'r1/init.mp4'], 'loaded from the network instead');
  assert.equal(f.seen.success.length, 0);

  const aborted = new Loader({});
  const a = hlsCallbacks();
  aborted.load({ url: BASE + 'r1/index.m3u8', responseType: 'text' }, {}, a.callbacks);
  aborted.abort();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(a.seen.success.length, 0);
  assert.equal(a.seen.aborted, 1);
});

// dash.js's extension mechanism (FactoryMaker with override): the extension's methods replace the
// parent instance's, and `this.parent` is that instance.
function fakeDashPlayer() {
  const network = [];
  const extensions = {};
  return {
    network,
    extend(name, factory, override) { extensions[name] = { factory, override }; },
    createXhrLoader() {
      const instance = { load(request) { network.push(request.url); return true; }, abort() {} };
      const extension = extensions.XHRLoader.factory.apply({ context: {}, parent: instance });
      for (const key of Object.keys(extension)) { if (Object.prototype.hasOwnProperty.call(instance, key)) { instance[key] = extension[key]; } }
      return instance;
    },
  };
}

function dashRequest(url, responseType, headers = {}) {
  const events = [];
  const request = {
    url, method: 'GET', responseType, headers,
    customData: { onprogress: (e) => events.push(['progress', e]), onloadend: () => events.push(['loadend']), onabort: () => events.push(['abort']) },
  };
  return { request, response: {}, events };
}

test('dash.js: the MPD and first segments come from the start set; the rest through its own loader', async () => {
  const dashStart = { protocol: 'dash', resources: [{ url: 'http://steering.example/play/t1/manifest.mpd?session=abc', body: '<MPD/>' }, { url: BASE + 'r1/init.mp4' }, { url: BASE + 'r2/init.mp4' }, { url: BASE + 'r1/seg-00001.m4s' }] };
  const set = prefetchStartSet(dashStart, { fetchFn: fakeFetch({ [BASE + 'r2/init.mp4']: 500 }).fn, now: clock() });
  const player = fakeDashPlayer();
  installDashStartSet(player, set);
  const loader = player.createXhrLoader();

  const mpd = dashRequest('http://steering.example/play/t1/manifest.mpd?session=abc', 'text');
  loader.load(mpd.request, mpd.response);
  const init = dashRequest(BASE + 'r1/init.mp4', 'arraybuffer');
  loader.load(init.request, init.response);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(mpd.response.status, 200);
  assert.equal(mpd.response.data, '<MPD/>');
  assert.deepEqual(mpd.events.map((e) => e[0]), ['progress', 'loadend']);
  assert.deepEqual([...new Uint8Array(init.response.data)], [1, 2, 3]);
  assert.equal(init.events[0][1].loaded, 3);
  assert.ok(init.events[0][1].time >= 1, 'the fetch\'s duration for dash.js\'s throughput trace');

  const failed = dashRequest(BASE + 'r2/init.mp4', 'arraybuffer');
  loader.load(failed.request, failed.response);
  const ranged = dashRequest(BASE + 'r1/seg-00001.m4s', 'arraybuffer', { Range: 'bytes=0-99' });
  loader.load(ranged.request, ranged.response);
  const other = dashRequest(BASE + 'r1/seg-00002.m4s', 'arraybuffer');
  loader.load(other.request, other.response);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(player.network, [BASE + 'r1/seg-00001.m4s', BASE + 'r1/seg-00002.m4s', BASE + 'r2/init.mp4']);
  assert.equal(failed.response.status, undefined, 'left to dash.js\'s own loader');
});

test('dash.js: an aborted request from the start set reports the abort and nothing else', async () => {
  const set = prefetchStartSet({ protocol: 'dash', resources: [{ url: BASE + 'r1/init.mp4' }] }, { fetchFn: fakeFetch({}).fn, now: clock() });
  const player = fakeDashPlayer();
  installDashStartSet(player, set);
  const loader = player.createXhrLoader();
  const init = dashRequest(BASE + 'r1/init.mp4', 'arraybuffer');
  loader.load(init.request, init.response);
  init.request.customData.abort();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(init.events.map((e) => e[0]), ['abort']);
  assert.equal(init.response.data, undefined);
});
