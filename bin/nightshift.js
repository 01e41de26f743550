#!/usr/bin/env node
'use strict';
// The `nightshift` command: runs cli/main.ts through tsx, so it works straight after `npm ci` with no build step.
const path = require('node:path');

// The AWS SDK warns on every start that releases after January 2027 will need Node 22; the project
// supports Node 20 for its own tooling, so the CLI's output stays about Nightshift. An explicit setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Octokit is ESM-only: let require reach it (local mode loads the token broker and the runner loads Octokit).
require('./esm-only-packages');
require('tsx/cjs/api').register();
require(path.join(__dirname, '..', 'cli', 'main.ts'));
