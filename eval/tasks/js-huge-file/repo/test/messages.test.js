'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { message } = require('../src/messages');

test('message fills placeholders', () => {
  assert.equal(message('account.delivery.0000', { name: 'Ada' }), 'The account delivery item 0 for Ada is ready.');
});

test('message refuses an unknown key', () => {
  assert.throws(() => message('nope'), /no message nope/);
});
