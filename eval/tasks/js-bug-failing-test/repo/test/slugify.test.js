'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { slugify } = require('../src/slugify');

test('slugify lowercases words', () => {
  assert.equal(slugify('Hello World'), 'hello-world');
});

test('slugify strips accents', () => {
  assert.equal(slugify('Crème Brûlée'), 'creme-brulee');
});

test('slugify collapses runs of separators', () => {
  assert.equal(slugify('Hello,  World!'), 'hello-world');
});
