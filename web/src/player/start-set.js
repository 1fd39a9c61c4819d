// The start set: what a player will ask for first, listed by steering in its /play answer when the
// page asks with ?start=hls|dash (the steered playlist or MPD and the start rendition's media
// playlists inline; the init and first segments of video and audio as signed URLs). The page fetches
// every listed file at once, as soon as /play answers, and the player's loader answers the player's
// first requests from those fetches instead of making them one after another (playlist, then media
// playlist, then segments). Anything else, a byte range, or a fetch that failed goes to the network
// as usual. Each entry is used once, by URL, by the player it was fetched for, and dropped with it:
// nothing is kept that another start or another client could reuse, and every request still carries
// the token steering signed for this client.
//
// No imports: the bench's player page (tests/node/play-ttff.js) loads this file as it is.

// The URL in one spelling (players resolve and normalise the URLs they request).
export function normalizeUrl(url, base) {
  try {
    const u = new URL(url, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

// Bytes or text in the form a player asked for ('arraybuffer' or text).
export function bodyAs(entry, responseType) {
  if (responseType === 'arraybuffer') { return entry.bytes || new TextEncoder().encode(entry.text).buffer; }
  return typeof entry.text === 'string' ? entry.text : new TextDecoder().decode(entry.bytes);
}

// A prefetch not done in this long is given up (null): the player then asks itself, with its own
// timeouts and Content Steering failover, instead of waiting on a stalled appliance through us.
export const PREFETCH_TIMEOUT_MS = 4000;

function byteLength(data) { return typeof data === 'string' ? data.length : data.byteLength; }

// Fetched (or inline) start files by URL. take(url) hands one out once: a promise of
// { text | bytes, start, first, end } (times from performance.now(), the fetch's own, so a player's
// throughput estimate sees the network, not memory) or of null when the fetch failed; undefined when
// the URL is not in the set. A set may be made empty, given to a player built while /play is asked,
// and filled when /play answers (fill).
export class StartSet {
  constructor() {
    this.entries = new Map();
    this.protocol = null;
    // URL → { bytes, ms } of each file handed out, for ABR rules that read a request's timing.
    this.served = new Map();
  }

  get size() { return this.entries.size; }

  // Starts fetching every file of a /play answer's start set (none when it has none); returns this.
  // `fetchFn`, `now` and `timeoutMs` are for tests.
  fill(start, { fetchFn = (u, o) => fetch(u, o), now = () => performance.now(), base, timeoutMs = PREFETCH_TIMEOUT_MS } = {}) {
    if (!start || !Array.isArray(start.resources)) { return this; }
    if (typeof start.protocol === 'string') { this.protocol = start.protocol; }
    for (const resource of start.resources) {
      const key = resource && typeof resource.url === 'string' ? normalizeUrl(resource.url, base) : null;
      if (!key || this.entries.has(key)) { continue; }
      const t0 = now();
      if (typeof resource.body === 'string') {
        this.entries.set(key, Promise.resolve({ text: resource.body, bytes: null, start: t0, first: t0, end: t0 }));
        continue;
      }
      // Asked now, not in a later microtask: the request is on its way before the caller goes on
      // (typically to build the player, which holds the page's only thread for a while).
      const controller = new AbortController();
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => { controller.abort(); resolve(null); }, timeoutMs); });
      let request;
      try { request = Promise.resolve(fetchFn(key, { credentials: 'omit', signal: controller.signal })); } catch (e) { request = Promise.reject(e); }
      const fetched = request.then(async (response) => {
        if (!response.ok) { return null; }
        const first = now();
        const bytes = await response.arrayBuffer();
        return { text: null, bytes, start: t0, first, end: now() };
      }).catch(() => null);
      this.entries.set(key, Promise.race([fetched, timeout]).finally(() => clearTimeout(timer)));
    }
    return this;
  }

  take(url) {
    const key = normalizeUrl(url, typeof location === 'undefined' ? undefined : location.href);
    const entry = key && this.entries.get(key);
    if (!entry) { return undefined; }
    this.entries.delete(key);
    return entry.then((e) => {
      if (e) { this.served.set(key, { bytes: e.bytes ? e.bytes.byteLength : e.text.length, ms: Math.max(1, e.end - e.start) }); }
      return e;
    });
  }

  // The network timing of a file handed out from the set, or null.
  timing(url) {
    const key = normalizeUrl(url, typeof location === 'undefined' ? undefined : location.href);
    return (key && this.served.get(key)) || null;
  }

  clear() { this.entries.clear(); this.served.clear(); }
}

// Starts fetching every file of a /play answer's start set and returns the StartSet; an empty one when
// the answer has none.
export function prefetchStartSet(start, options) {
  return new StartSet().fill(start, options);
}

// Adds the start set to a /play answer (play.startSet), fetching at once; the answer is returned.
export function withStartSet(play) {
  if (play && play.start) { play.startSet = prefetchStartSet(play.start); }
  return play;
}

// The /play query asking for a start set: the engine (hls.js and dash.js; Shaka has no start-set
// loader) and the throughput hint steering picks the start rendition with, as the player will.
export function startQuery(engine, hintBps) {
  if (engine !== 'hls' && engine !== 'dash') { return ''; }
  return `?start=${engine}` + (hintBps ? `&bps=${Math.round(hintBps)}` : '');
}

// An hls.js loader class (config.loader) answering from the start set, else loading as `Base`
// (Hls.DefaultConfig.loader) does.
export function hlsStartSetLoader(Base, startSet) {
  return class StartSetLoader extends Base {
    load(context, config, callbacks) {
      const hit = context.rangeEnd ? undefined : startSet.take(context.url);
      if (!hit) { super.load(context, config, callbacks); return; }
      this.context = context;
      this.config = config;
      this.callbacks = callbacks;
      this.fromStartSet = true;
      hit.then((entry) => {
        const stats = this.stats;
        if (this.callbacks !== callbacks || !stats || stats.aborted) { return; }
        if (!entry) {
          this.fromStartSet = false;
          super.load(context, config, callbacks);
          return;
        }
        const data = bodyAs(entry, context.responseType);
        const length = byteLength(data);
        stats.loading.start = entry.start;
        stats.loading.first = Math.max(entry.first, entry.start);
        stats.loading.end = Math.max(entry.end, stats.loading.first);
        stats.loaded = stats.total = length;
        stats.bwEstimate = (length * 8000) / Math.max(1, stats.loading.end - stats.loading.first);
        if (callbacks.onProgress) { callbacks.onProgress(stats, context, data, null); }
        callbacks.onSuccess({ url: context.url, data, code: 200 }, stats, context, null);
      });
    }

    abort() {
      if (this.fromStartSet && this.stats) { this.stats.aborted = true; }
      super.abort();
    }
  };
}

// Makes a dash.js player's requests answer from the start set (its XHR loader, extended before
// initialize); everything else goes through dash.js's own loader.
export function installDashStartSet(player, startSet) {
  player.extend('XHRLoader', function startSetXhrLoader() {
    const parentLoad = this.parent.load;
    return {
      load(request, response) {
        const ranged = request.headers && (request.headers.Range || request.headers.range);
        const hit = (request.method || 'GET') === 'GET' && !ranged ? startSet.take(request.url) : undefined;
        if (!hit) { return parentLoad(request, response); }
        const custom = request.customData || {};
        let aborted = false;
        custom.abort = () => { aborted = true; if (custom.onabort) { custom.onabort(); } };
        hit.then((entry) => {
          if (aborted) { return; }
          if (!entry) { parentLoad(request, response); return; }
          const data = bodyAs(entry, request.responseType);
          const length = byteLength(data);
          response.url = request.url;
          response.status = 200;
          response.statusText = 'OK';
          response.headers = {};
          response.data = data;
          // `time`: the fetch's own duration, for dash.js's throughput traces.
          if (custom.onprogress) { custom.onprogress({ loaded: length, total: length, lengthComputable: true, time: Math.max(1, entry.end - entry.start) }); }
          if (custom.onloadend) { custom.onloadend(); }
        });
        return true;
      },
    };
  }, true);
}
