#!/usr/bin/env node
// Moves the adapters out of the domain (issue 18 item 3): the DynamoDB implementations of the store
// ports, with their table and item modules, from core/store/ to adapters/dynamodb/, and the proxy's
// HTTP health check from core/egress/ to adapters/http/. core/store/ keeps the ports (ports.ts,
// *-port.ts) and what is pure over them (runner-access.ts).
//
//   node scripts/move-adapters.mjs            git mv every file, rewrite every relative import and path mention
//   node scripts/move-adapters.mjs --check    only report what it would do
//
// Re-runnable on a main that has changed since it was written: it reads the tree as it is, resolves
// every relative import of every tracked .ts/.tsx/.js/.mjs/.cjs file BEFORE it changes anything, and
// stops with the list when one does not resolve, when a file to move is missing (or already moved)
// while another is not, or when a module staying in core/ would import a moved one or an AWS SDK
// client. Run on a tree where the move is done it changes nothing and says so. Commit its result in a
// commit of its own; then `npx tsc --noEmit -p .` and `npx jest test/architecture`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const checkOnly = process.argv.includes('--check');

const dynamodb = [
  'autofix-attempts',
  'budget-ledger',
  'client',
  'concurrency-slots',
  'condition-failure',
  'create-tables',
  'cursor',
  'inbox-store',
  'index',
  'intake-flag',
  'ledger-day',
  'ledger-run',
  'review-places',
  'run-event-log',
  'run-index-backfill',
  'run-item',
  'run-keys',
  'idempotency-records',
  'run-list',
  'run-queue',
  'run-repository',
  'tables',
  'threads',
  'webhook-deliveries',
];
/** Old repo-relative path -> new one. */
const moves = new Map([
  ...dynamodb.map((name) => [`core/store/${name}.ts`, `adapters/dynamodb/${name}.ts`]),
  ['core/egress/proxy-check.ts', 'adapters/http/proxy-check.ts'],
]);
/** Directory imports (`../core/store`) that name a moved index. */
const movedDirs = new Map([['core/store', 'adapters/dynamodb']]);

const fail = (problems) => {
  console.error(`move-adapters: stopped, nothing changed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
};

// 1. Where the tree is: before, after, or in between (refused).
const present = [...moves].filter(([from]) => existsSync(join(root, from)));
const arrived = [...moves].filter(([, to]) => existsSync(join(root, to)));
if (present.length === 0 && arrived.length === moves.size) {
  console.log('move-adapters: already moved, nothing to do');
  process.exit(0);
}
const problems = [];
for (const [from, to] of moves) {
  if (!existsSync(join(root, from))) problems.push(`${from} is missing (expected to move it to ${to})`);
  if (existsSync(join(root, to))) problems.push(`${to} exists already`);
}
if (problems.length > 0) fail(problems);

// 2. Every relative import of every tracked source file, resolved against the tree as it is.
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
/** Not the project's modules: the eval's task repositories (tsconfig.json excludes them too). */
const foreignTrees = ['eval/tasks/'];
/** Specifiers inside source text a test writes to a temporary directory: they name files there, not here. */
const writtenByTests = new Set([
  "test/local/bundle-cache.test.ts: './greeting'",
  "test/local/bundle-cache.test.ts: './nowhere'",
  "test/runner/change-coverage.test.ts: '../src/add'",
]);
const sources = tracked.filter(
  (file) =>
    /\.(ts|tsx|mjs|cjs|js)$/.test(file) &&
    !file.includes('node_modules/') &&
    !foreignTrees.some((tree) => file.startsWith(tree)) &&
    existsSync(join(root, file)),
);
const specifierPatterns = [
  /(\bfrom\s*)(['"])(\.{1,2}\/[^'"]*)\2/g,
  /(\bimport\s*)(['"])(\.{1,2}\/[^'"]*)\2/g,
  /(\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]*)\2/g,
  /(\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"]*)\2/g,
  /(\brequire\.resolve\s*\(\s*)(['"])(\.{1,2}\/[^'"]*)\2/g,
  /(\bjest\.(?:mock|doMock|unmock|requireActual|requireMock)\s*\(\s*)(['"])(\.{1,2}\/[^'"]*)\2/g,
];
const isFile = (path) => existsSync(path) && statSync(path).isFile();
const extensions = ['', '.ts', '.tsx', '.d.ts', '.js', '.mjs', '.cjs', '.json'];
/** The repo-relative file a specifier names, and whether it named a directory's index. */
function resolveSpecifier(fromFile, specifier) {
  const base = posix.normalize(posix.join(posix.dirname(fromFile), specifier));
  for (const ext of extensions) if (isFile(join(root, base + ext))) return { file: base + ext, viaDir: false };
  for (const index of ['index.ts', 'index.tsx', 'index.js'])
    if (isFile(join(root, base, index))) return { file: posix.join(base, index), viaDir: true };
  return undefined;
}
/** Imports written as examples inside comments or strings of text would not resolve: skip lines that are comments. */
const inComment = (text, at) => {
  const lineStart = text.lastIndexOf('\n', at) + 1;
  const line = text.slice(lineStart, at).trimStart();
  return line.startsWith('//') || line.startsWith('*') || line.startsWith('/*');
};

const rewrites = new Map();
const unresolved = [];
for (const file of sources) {
  const text = readFileSync(join(root, file), 'utf8');
  const newFile = moves.get(file) ?? file;
  let changed = text;
  for (const pattern of specifierPatterns) {
    changed = changed.replace(pattern, (match, lead, quote, specifier, offset, whole) => {
      if (inComment(whole, offset)) return match;
      const target = resolveSpecifier(file, specifier);
      if (!target) {
        if (!writtenByTests.has(`${file}: '${specifier}'`)) unresolved.push(`${file}: '${specifier}'`);
        return match;
      }
      const newTarget = moves.get(target.file) ?? target.file;
      if (newFile === file && newTarget === target.file) return match;
      let spec;
      if (target.viaDir) {
        const dir = posix.dirname(target.file);
        const newDir = moves.has(target.file) ? (movedDirs.get(dir) ?? posix.dirname(newTarget)) : dir;
        spec = posix.relative(posix.dirname(newFile), newDir) || '.';
      } else {
        // Keep the specifier's own style: with or without its extension.
        const written = posix.normalize(posix.join(posix.dirname(file), specifier));
        const ext = target.file.slice(written.length);
        const withoutExt = ext ? newTarget.slice(0, newTarget.length - ext.length) : newTarget;
        spec = posix.relative(posix.dirname(newFile), withoutExt);
      }
      if (!spec.startsWith('.')) spec = `./${spec}`;
      return `${lead}${quote}${spec}${quote}`;
    });
  }
  if (changed !== text || newFile !== file) rewrites.set(file, changed);
}
if (unresolved.length > 0) fail(['relative imports that resolve to no file:', ...unresolved]);

// 3. The domain after the move: nothing staying in core/ may import a moved module or an AWS SDK client.
const leaks = [];
for (const file of sources) {
  if (!file.startsWith('core/') || moves.has(file)) continue;
  const text = rewrites.get(file) ?? readFileSync(join(root, file), 'utf8');
  if (/from\s*['"]\.{1,2}\/[^'"]*adapters\//.test(text)) leaks.push(`${file} would import adapters/ (move what it needs into core/ first)`);
  if (/from\s*['"]@aws-sdk\/(client-|lib-dynamodb)/.test(text))
    leaks.push(`${file} imports an AWS SDK client: add it to the moves or take the client out`);
}
if (leaks.length > 0) fail(leaks);

// 4. Path mentions in text (docs, comments, stryker.config.mjs): `core/store/tables.ts` and the like.
// This script names the old paths on purpose: it is left as it is.
const self = 'scripts/move-adapters.mjs';
const textFiles = tracked.filter(
  (file) =>
    /\.(md|ts|tsx|mjs|cjs|js|json|jsonc|ya?ml)$/.test(file) &&
    file !== self &&
    !file.includes('node_modules/') &&
    existsSync(join(root, file)),
);
const stems = new Map([...moves].map(([from, to]) => [from.replace(/\.ts$/, ''), to.replace(/\.ts$/, '')]));
const mention = new RegExp(`(?<![\\w./-])(${[...stems.keys()].join('|')})(?=\\.ts\\b|\\.(?![\\w/])|[^\\w./-]|$)`, 'gm');
let mentions = 0;
for (const file of textFiles) {
  const text = rewrites.get(file) ?? readFileSync(join(root, file), 'utf8');
  const changed = text.replace(mention, (stem) => {
    mentions++;
    return stems.get(stem);
  });
  if (changed !== text) rewrites.set(file, changed);
}

// 5. The project configuration: tsc checks adapters/, the synthesized-template cache hashes it.
const configEdits = [
  ['tsconfig.json', '"include": ["core", ', '"include": ["core", "adapters", '],
  ['local/synthesized-stack.ts', "const sourceDirs = ['infra', 'core'];", "const sourceDirs = ['infra', 'core', 'adapters'];"],
];
for (const [file, from, to] of configEdits) {
  const text = rewrites.get(file) ?? readFileSync(join(root, file), 'utf8');
  if (text.includes(to)) continue;
  if (!text.includes(from)) fail([`${file}: expected to find ${from}`]);
  rewrites.set(file, text.replace(from, to));
}

if (checkOnly) {
  console.log(`move-adapters --check: would move ${moves.size} files, rewrite ${rewrites.size} files (${mentions} path mentions)`);
  for (const [from, to] of moves) console.log(`  ${from} -> ${to}`);
  process.exit(0);
}

// 6. Move, then write the rewritten files at their new places.
for (const [from, to] of moves) {
  mkdirSync(join(root, dirname(to)), { recursive: true });
  execFileSync('git', ['mv', from, to], { cwd: root });
}
for (const [file, text] of rewrites) writeFileSync(join(root, moves.get(file) ?? file), text);

// 7. Every relative import resolves after the move too.
const broken = [];
for (const file of sources.map((f) => moves.get(f) ?? f)) {
  const text = readFileSync(join(root, file), 'utf8');
  for (const pattern of specifierPatterns)
    for (const match of text.matchAll(pattern))
      if (!inComment(text, match.index) && !resolveSpecifier(file, match[3]) && !writtenByTests.has(`${file}: '${match[3]}'`))
        broken.push(`${file}: '${match[3]}'`);
}
if (broken.length > 0) {
  console.error(`move-adapters: moved, but these imports no longer resolve (fix, or git reset --hard):\n  ${broken.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `move-adapters: moved ${moves.size} files, rewrote ${rewrites.size} files (${mentions} path mentions); now: npx tsc --noEmit -p . && npx jest test/architecture`,
);
