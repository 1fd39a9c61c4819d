import { test } from 'node:test';
import assert from 'node:assert/strict';
import { THROUGHPUT_KEY, readThroughputHint, saveThroughputHint, startRendition, hlsStartConfig, dashStartSettings } from '../src/player/start-config.js';

const ladder = [400_000, 1_000_000, 2_500_000, 5_000_000];

function memoryStorage(initial = {}) {
  const items = { ...initial };
  return { items, getItem: (k) => (k in items ? items[k] : null), setItem: (k, v) => { items[k] = String(v); } };
}

test('without a hint the start is the lowest rendition', () => {
  assert.equal(startRendition(ladder, null), 0);
  assert.equal(startRendition([], 8_000_000), 0);
});

test('a hint starts at the highest rendition fitting in half of it', () => {
  assert.equal(startRendition(ladder, 700_000), 0); // 350 kbit/s: nothing fits, still the lowest
  assert.equal(startRendition(ladder, 2_000_000), 1); // exactly 1 Mbit/s fits
  assert.equal(startRendition(ladder, 4_999_999), 1);
  assert.equal(startRendition(ladder, 5_000_000), 2);
  assert.equal(startRendition(ladder, 100_000_000), 3);
});

test('the hint round-trips through storage', () => {
  const storage = memoryStorage();
  assert.equal(readThroughputHint(storage), null);
  saveThroughputHint(storage, 3_456_789.4);
  assert.equal(storage.items[THROUGHPUT_KEY], '3456789');
  assert.equal(readThroughputHint(storage), 3_456_789);
});

test('implausible readings are neither saved nor read', () => {
  const storage = memoryStorage();
  for (const bad of [0, -5, NaN, Infinity, 2e10, undefined]) { saveThroughputHint(storage, bad); }
  assert.deepEqual(storage.items, {});
  for (const bad of ['', 'abc', '-1', '0', '1e12']) {
    assert.equal(readThroughputHint(memoryStorage({ [THROUGHPUT_KEY]: bad })), null, bad);
  }
  assert.equal(readThroughputHint(null), null);
  assert.equal(readThroughputHint({ getItem: () => { throw new Error('denied'); } }), null);
});

test('a storage that refuses writes is not an error', () => {
  assert.doesNotThrow(() => saveThroughputHint({ setItem: () => { throw new Error('quota'); } }, 1_000_000));
});

test('hls.js starts without a bandwidth test or worker, prefetching, from the hint', () => {
  assert.deepEqual(hlsStartConfig(null), { testBandwidth: false, startFragPrefetch: true, enableWorker: false, abrEwmaDefaultEstimate: 1 });
  assert.equal(hlsStartConfig(4_000_000).abrEwmaDefaultEstimate, 2_000_000);
});

test('dash.js starts at the lowest bitrate without a hint, at half the hint with one (kbit/s)', () => {
  assert.equal(dashStartSettings(null).streaming.abr.initialBitrate.video, 1);
  assert.equal(dashStartSettings(4_000_000).streaming.abr.initialBitrate.video, 2000);
  assert.equal(dashStartSettings(1000).streaming.abr.initialBitrate.video, 1);
});
