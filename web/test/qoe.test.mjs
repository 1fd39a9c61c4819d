import { test } from 'node:test';
import assert from 'node:assert/strict';

// The session only needs an EventTarget for the page and for the video element.
globalThis.window = new EventTarget();
const { QoeSession } = await import('../src/player/qoe.js');

class FakeVideo extends EventTarget {
  constructor() { super(); this.paused = false; this.seeking = false; this.frame = null; }
  requestVideoFrameCallback(cb) { this.frame = cb; }
  fire(name) { this.dispatchEvent(new Event(name)); }
}

function session() {
  const video = new FakeVideo();
  const sent = [];
  const qoe = new QoeSession({ video, title: 't1', player: 'hls', abr: 'seed', send: (url, text) => sent.push({ url, body: JSON.parse(text) }) });
  return { video, sent, qoe };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the first frame sends a start beacon with the time to first frame, site and appliance', async () => {
  const { video, sent, qoe } = session();
  qoe.where('local', 'oca-1');
  await sleep(20);
  video.frame();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].url, '/api/qoe');
  const b = sent[0].body;
  assert.equal(b.kind, 'start');
  assert.ok(b.ttffMs >= 20 && b.ttffMs < 1000, `ttff ${b.ttffMs}`);
  assert.deepEqual([b.title, b.player, b.abr, b.site, b.appliance], ['t1', 'hls', 'seed', 'local', 'oca-1']);
  assert.match(b.session, /^[0-9a-f]{24}$/);
  qoe.stop();
});

test('a stall after the first frame counts as a rebuffer; a seek does not', async () => {
  const { video, sent, qoe } = session();
  video.frame();
  video.fire('playing');
  qoe.bitrate(1000, true);
  await sleep(30);
  video.fire('waiting');
  await sleep(40);
  video.fire('playing');
  video.seeking = true;
  video.fire('waiting');
  video.seeking = false;
  video.fire('playing');
  qoe.bitrate(2000, true);
  await sleep(20);
  qoe.finish();
  const end = sent.at(-1).body;
  assert.equal(end.kind, 'end');
  assert.equal(end.rebufferCount, 1);
  assert.ok(end.rebufferSeconds >= 0.03 && end.rebufferSeconds < 0.5, `rebuffer ${end.rebufferSeconds}`);
  assert.ok(end.playSeconds >= 0.04, `play ${end.playSeconds}`);
  assert.equal(end.switches, 1);
  assert.equal(end.bitrateKbps, 2000);
  assert.ok(end.playedKbits > 0);
});

test('leaving before the first frame is an exit before video start (EBVS)', () => {
  const { sent } = session();
  window.dispatchEvent(new Event('pagehide'));
  assert.deepEqual(sent.map((s) => s.body.kind), ['exit']);
});

test('a fatal error before the first frame is a start failure (Vsf), after it an error', () => {
  const a = session();
  a.qoe.fatal('manifest 404');
  assert.deepEqual(a.sent.map((s) => [s.body.kind, s.body.error]), [['failure', 'manifest 404']]);
  a.video.frame();
  assert.equal(a.sent.length, 1, 'nothing is reported after the session ended');

  const b = session();
  b.video.frame();
  b.qoe.fatal('media error');
  assert.deepEqual(b.sent.map((s) => s.body.kind), ['start', 'error']);
  b.qoe.stop();
});
