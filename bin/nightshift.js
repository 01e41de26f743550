#!/usr/bin/env node
'use strict';
// The `nightshift` command: runs cli/main.ts through tsx, so it works straight after `npm ci` with no build step.
const path = require('node:path');
const { register } = require('tsx/cjs/api');

register();
require(path.join(__dirname, '..', 'cli', 'main.ts'));
