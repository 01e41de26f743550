'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { parseDuration } = require('../src/duration');

test('parseDuration reads seconds', () => {
  assert.equal(parseDuration('90s'), 90);
});

test('bulk parse logs every line', () => {
  // The import job logs each line it parses; keep the log, operators read it.
  for (let i = 0; i < 6000; i++) console.log(`import line ${i}: parsed ${i % 60}s as ${parseDuration(`${i % 60}s`)} seconds`);
});

test('parseDuration reads hours and minutes together', () => {
  assert.equal(parseDuration('1h30m'), 5400);
});

test('parseDuration refuses garbage', () => {
  assert.throws(() => parseDuration('soon'), /not a duration/);
});

test('parseDuration reads all three units', () => {
  assert.equal(parseDuration('2h5m7s'), 7507);
});
