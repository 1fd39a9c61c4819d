import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThroughputWindow, chooseRendition } from '../src/player/abr-rules.js';

const ladder = [400_000, 1_000_000, 2_500_000, 5_000_000];

test('estimate is bits over time of the last few segments only', () => {
  const w = new ThroughputWindow(3);
  assert.equal(w.estimate(), null);
  w.add(1_000_000, 8000); // 1 Mbit/s, pushed out below
  w.add(500_000, 1000); // 4 Mbit in 1 s
  w.add(500_000, 1000);
  w.add(250_000, 1000); // 2 Mbit in 1 s
  assert.equal(w.estimate(), (4e6 + 4e6 + 2e6) / 3);
});

test('empty or zero-time samples are ignored', () => {
  const w = new ThroughputWindow(2);
  w.add(0, 100);
  w.add(100, 0);
  assert.equal(w.estimate(), null);
});

test('no estimate keeps the current rendition', () => {
  assert.equal(chooseRendition(ladder, 1, null, 1), 1);
});

test('switches up only when the estimate exceeds 1.5x the new rendition', () => {
  // 1.5 x 2.5 Mbit/s = 3.75 Mbit/s
  assert.equal(chooseRendition(ladder, 1, 3_750_000, 10), 1);
  assert.equal(chooseRendition(ladder, 1, 3_750_001, 10), 2);
  // Enough for the top: jumps there.
  assert.equal(chooseRendition(ladder, 0, 7_600_000, 10), 3);
});

test('holds when the estimate is between the current bitrate and 1.5x the next', () => {
  assert.equal(chooseRendition(ladder, 2, 3_000_000, 12), 2);
  // Even an estimate under the current bitrate holds while the buffer is healthy.
  assert.equal(chooseRendition(ladder, 2, 1_200_000, 12), 2);
});

test('buffer under 5 s switches down at once to what the estimate carries', () => {
  assert.equal(chooseRendition(ladder, 3, 1_200_000, 4.9), 1);
  assert.equal(chooseRendition(ladder, 3, 100_000, 2), 0);
});

test('buffer under 5 s always goes at least one step down, never below the lowest', () => {
  assert.equal(chooseRendition(ladder, 2, 9_000_000, 3), 1);
  assert.equal(chooseRendition(ladder, 0, 9_000_000, 0), 0);
});

test('during start-up (buffer not yet 5 s) a low buffer does not switch down, and a good estimate switches up', () => {
  assert.equal(chooseRendition(ladder, 2, 1_200_000, 2, false), 2);
  assert.equal(chooseRendition(ladder, 0, 3_750_001, 2, false), 2);
  assert.equal(chooseRendition(ladder, 2, 1_200_000, 2, true), 1);
});

test('exactly 5 s of buffer is not a panic', () => {
  assert.equal(chooseRendition(ladder, 2, 3_000_000, 5), 2);
});

test('an empty ladder has no choice', () => {
  assert.equal(chooseRendition([], 0, 1e6, 10), -1);
});
