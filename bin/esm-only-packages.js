'use strict';
/**
 * Lets `require` reach packages that export nothing for it (Octokit's are ESM-only: `"exports":
 * {".": {"import": ...}}`). When Node refuses such a package with ERR_PACKAGE_PATH_NOT_EXPORTED, this
 * resolves it with the `import` condition instead, and tsx's CommonJS hooks compile the ESM file.
 * Only failing packages are affected: passing `--conditions=import` to node would move every dual
 * package to its ESM build, which breaks some (tslib's ESM wrapper, for one).
 */
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

function pick(entry) {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const candidate of entry) {
      const found = pick(candidate);
      if (found) return found;
    }
    return undefined;
  }
  if (entry && typeof entry === 'object') {
    for (const [condition, value] of Object.entries(entry)) {
      if (condition === 'node' || condition === 'import' || condition === 'default') {
        const found = pick(value);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function resolveWithImportCondition(request, parent) {
  const match = /^((?:@[^/]+\/)?[^/@.][^/]*)(\/.*)?$/.exec(request);
  if (!match) return undefined;
  const [, name, rest] = match;
  const subpath = rest ? `.${rest}` : '.';
  const searchPaths = (parent && parent.paths) || Module._nodeModulePaths(process.cwd());
  for (const dir of searchPaths) {
    const packageDir = path.join(dir, name);
    const manifest = path.join(packageDir, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    const { exports } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    const keyed = exports && typeof exports === 'object' && !Array.isArray(exports) && Object.keys(exports).some((k) => k.startsWith('.'));
    const target = keyed ? pick(exports[subpath]) : subpath === '.' ? pick(exports) : undefined;
    return target ? path.join(packageDir, target) : undefined;
  }
  return undefined;
}

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveEsmOnly(request, parent, isMain, options) {
  try {
    return resolveFilename.call(this, request, parent, isMain, options);
  } catch (error) {
    if (error && error.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
      const resolved = resolveWithImportCondition(request, parent);
      if (resolved && fs.existsSync(resolved)) return resolved;
    }
    throw error;
  }
};
