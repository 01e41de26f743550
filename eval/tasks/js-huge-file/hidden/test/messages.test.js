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

test('the welcome message greets the user by name', () => {
  assert.equal(message('profile.welcome', { name: 'Ada', count: 3 }), 'Welcome back, Ada! You have 3 new messages.');
});

test('every other message is unchanged', () => {
  const { createHash } = require('node:crypto');
  const { MESSAGES } = require('../src/messages');
  const others = Object.entries(MESSAGES).filter(([k]) => k !== 'profile.welcome').map(([k, t]) => `${k}=${t}\n`).join('');
  assert.equal(createHash('sha256').update(others).digest('hex'), 'd824179a04fbd8c8209ed8e78735bc2435a84019751c1c45b999224a8d1abd9f');
});
