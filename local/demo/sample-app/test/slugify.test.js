'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { slugify } = require('../src/slugify');

test('lower-cases words and joins them with dashes', () => {
  assert.equal(slugify('Hello World'), 'hello-world');
});

test('drops punctuation and collapses repeated separators', () => {
  assert.equal(slugify('Hello, World!'), 'hello-world');
});

test('trims separators at both ends', () => {
  assert.equal(slugify('  -- Nightshift --  '), 'nightshift');
});
