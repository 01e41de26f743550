'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { formatPrice } = require('../src/price');

test('formatPrice shows dollars and cents', () => {
  assert.equal(formatPrice(1234), '$12.34');
});

test('formatPrice groups thousands', () => {
  assert.equal(formatPrice(123456789), '$1,234,567.89');
});
