import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, bitrate, clock, fillSummary, percent, rosterSummary } from '../src/pages/fleet-format.js';

test('percent rounds and shows unknown as a dash', () => {
  assert.equal(percent(0.756), '76 %');
  assert.equal(percent(null), '–');
  assert.equal(percent(undefined), '–');
});

test('bitrate is in bits', () => {
  assert.equal(bitrate(1_250_000), '10.0 Mbit/s');
  assert.equal(bitrate(250_000_000), '2.00 Gbit/s');
  assert.equal(bitrate(0), '0.0 Mbit/s');
});

test('age and clock', () => {
  assert.equal(age(3.4), '3 s ago');
  assert.equal(age(600), '10 min ago');
  assert.equal(age(10800), '3 h ago');
  assert.equal(clock('2026-12-07T02:05:00+00:00'), '02:05 UTC');
  assert.equal(clock('not a time'), '–');
});

test('fill summary: copies against planned, and the window', () => {
  const closed = { copiesPlanned: 0, copiesComplete: 0, copiesFailed: 0, progress: null, open: false, windowStart: '2026-12-08T02:00:00Z', windowEnd: '2026-12-08T06:00:00Z' };
  assert.equal(fillSummary(closed), 'nothing planned · window 02:00 UTC–06:00 UTC');
  const open = { copiesPlanned: 8, copiesComplete: 6, copiesFailed: 1, progress: 0.75, open: true, openUntil: '2026-12-08T06:00:00Z', windowElapsed: 0.5 };
  assert.equal(fillSummary(open), '6 of 8 copies (75 %), 1 failed · open until 06:00 UTC, 50 % of the window gone');
});

test('roster summary counts appliances by health', () => {
  const roster = { sites: [{ name: 'isp1' }], appliances: [{ health: 'healthy' }, { health: 'healthy' }, { health: 'expired' }] };
  assert.equal(rosterSummary(roster), '3 appliances in 1 site: 2 healthy, 1 expired');
  assert.equal(rosterSummary({ sites: [], appliances: [] }), '0 appliances in 0 sites');
});
