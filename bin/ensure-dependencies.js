#!/usr/bin/env node
'use strict';
// Runs before `npm test`, `npm run demo` and `npm start` (package.json), so each works as the first
// command on a fresh clone: when node_modules is missing or older than package-lock.json, it runs
// `npm ci` first. Only Node's built-ins are used here: nothing else is installed yet.
const { spawnSync } = require('node:child_process');
const { statSync } = require('node:fs');
const path = require('node:path');

/** Why the dependencies must be installed in `root`, or undefined when they are current. */
function installReason(root) {
  const mtime = (file) => {
    try {
      return statSync(path.join(root, file)).mtimeMs;
    } catch {
      return undefined;
    }
  };
  const lock = mtime('package-lock.json');
  // npm writes node_modules/.package-lock.json at every install: its age is the install's.
  const installed = mtime(path.join('node_modules', '.package-lock.json'));
  if (mtime('node_modules') === undefined) return 'node_modules is missing';
  if (installed === undefined) return 'node_modules was not installed by npm (no node_modules/.package-lock.json)';
  if (lock !== undefined && installed < lock) return 'node_modules is older than package-lock.json';
  return undefined;
}

/** The npm to run: NIGHTSHIFT_NPM, else the npm running this script (npm_execpath), else `npm` on PATH. */
function npmCommand(env) {
  if (env.NIGHTSHIFT_NPM) return { command: env.NIGHTSHIFT_NPM, args: [] };
  if (env.npm_execpath && /npm-cli\.js$/.test(env.npm_execpath)) return { command: process.execPath, args: [env.npm_execpath] };
  return { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', args: [] };
}

function ensureDependencies(root, env = process.env, log = (line) => process.stderr.write(`${line}\n`)) {
  const reason = installReason(root);
  if (reason === undefined) return 0;
  const npm = npmCommand(env);
  log(`nightshift: ${reason}; installing the dependencies first (npm ci)…`);
  const result = spawnSync(npm.command, [...npm.args, 'ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', env });
  if (result.error) {
    log(`nightshift: could not run npm: ${result.error.message}`);
    return 1;
  }
  if (result.status !== 0) {
    log(`nightshift: npm ci failed (exit ${result.status}); fix what it printed and run the command again`);
    return result.status ?? 1;
  }
  return 0;
}

module.exports = { installReason, ensureDependencies };

if (require.main === module) process.exitCode = ensureDependencies(path.join(__dirname, '..'));
