#!/usr/bin/env node
'use strict';
// The `nightshift` command. It runs an esbuild bundle of cli/main.ts, built on first use and cached by the
// hash of its sources (bin/bundles.js), so a command starts without compiling TypeScript and works straight
// after `npm ci` with no build step. If the bundle cannot be built or cached (a read-only checkout), it runs
// cli/main.ts through tsx as before.
const path = require('node:path');

// The AWS SDK warns on every start that releases after January 2027 will need Node 22; the project
// supports Node 20 for its own tooling, so the CLI's output stays about Nightshift. An explicit setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Octokit is ESM-only: let require reach it (local mode loads the token broker and the runner loads Octokit).
require('./esm-only-packages');

require('./bundles')
  .bundledFile('cli')
  .then(
    ({ file }) => file,
    (error) => {
      process.stderr.write(
        `nightshift: running from source (the CLI bundle could not be built: ${error instanceof Error ? error.message : String(error)})\n`,
      );
      require('tsx/cjs/api').register();
      return path.join(__dirname, '..', 'cli', 'main.ts');
    },
  )
  .then((entry) => require(entry));
