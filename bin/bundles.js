'use strict';
/**
 * The esbuild bundles Nightshift runs instead of TypeScript through tsx, built once and cached by the
 * hash of what went into them:
 *  - `runner`: runner/main.ts as the runner image runs it (runner/Dockerfile builds it with
 *    `node bin/bundles.js build runner <outfile>`), so local mode starts the very same file;
 *  - `cli`: cli/main.ts for bin/nightshift.js, so a command starts in one file's load. The local-mode
 *    modules (the platform, the demo, the stack console) stay out of it and load through tsx when a
 *    command needs them (see `viaTsx`).
 *
 * The cache lives in <repo>/.nightshift/bundles (git-ignored), one manifest per bundle naming every input
 * file with its size, mtime and sha256. A start stats the inputs; any that changed is re-hashed, and a
 * changed hash (or build options, or esbuild version) rebuilds. Writes go through a temporary file and a
 * rename, so two processes starting at once never see half a bundle.
 */
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const repoRoot = path.join(__dirname, '..');
const defaultCacheDir = path.join(repoRoot, '.nightshift', 'bundles');

/** Imports of the CLI that stay TypeScript, loaded through tsx on first use (they start long-running local services). */
const viaTsx = [/^\.\/dev$/, /^\.\.\/local\/demo$/, /^\.\.\/\.\.\/console\/server\/stack-console$/];

/** An esbuild plugin: each import matching `viaTsx` becomes a shim that registers tsx and requires the source file. */
const tsxShims = {
  name: 'nightshift-tsx-shims',
  setup(build) {
    // The shim's own requires run at run time (tsx, then the TypeScript source), not at bundle time.
    build.onResolve({ filter: /./, namespace: 'nightshift-tsx' }, (args) => ({ path: args.path, external: true }));
    build.onResolve({ filter: /./ }, (args) => {
      if (!viaTsx.some((re) => re.test(args.path))) return undefined;
      return { path: path.resolve(args.resolveDir, `${args.path}.ts`), namespace: 'nightshift-tsx' };
    });
    build.onLoad({ filter: /./, namespace: 'nightshift-tsx' }, (args) => ({
      contents: `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();\nmodule.exports = require(${JSON.stringify(args.path)});\n`,
      loader: 'js',
    }));
  },
};

/** What each bundle is built from; the runner's options are the image's (runner/Dockerfile). */
const specs = {
  runner: {
    entry: 'runner/main.ts',
    // Minified (a smaller file to load at every task start; stack traces go through the source map), names kept for errors and logs.
    options: {
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      minify: true,
      keepNames: true,
      sourcemap: true,
      sourcesContent: false,
    },
  },
  cli: {
    entry: 'cli/main.ts',
    // The AWS SDK signs requests to a deployed stack's API only (cli/sigv4.ts, required on first use): it stays in
    // node_modules, so a start does not parse it (it was 60% of the bundle) nor stat its files for freshness.
    options: {
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      external: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'],
      plugins: [tsxShims],
    },
  },
};

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** Everything but the inputs that decides a bundle's bytes: its options and the esbuild that builds it. */
function specKey(name) {
  const { entry, options } = specs[name];
  const { plugins = [], ...rest } = options;
  const esbuildVersion = require('esbuild/package.json').version;
  return sha256(
    JSON.stringify({
      name,
      entry,
      rest,
      plugins: plugins.map((p) => p.name),
      viaTsx: name === 'cli' ? viaTsx.map(String) : [],
      esbuildVersion,
    }),
  );
}

/** esbuild options for `name` writing `outfile` (also used by the image build); `root` is the checkout. */
function buildOptions(name, outfile, root = repoRoot) {
  const spec = specs[name];
  if (!spec) throw new Error(`unknown bundle ${JSON.stringify(name)} (known: ${Object.keys(specs).join(', ')})`);
  return { ...spec.options, entryPoints: [path.join(root, spec.entry)], outfile, absWorkingDir: root, metafile: true, logLevel: 'silent' };
}

/** The manifest's inputs still match the files on disk (stat first, content hash when the stat moved). */
function inputsUnchanged(manifest, root) {
  let restat = false;
  for (const input of manifest.inputs) {
    let stat;
    try {
      stat = fs.statSync(path.join(root, input.path));
    } catch {
      return false;
    }
    if (stat.size === input.size && stat.mtimeMs === input.mtimeMs) continue;
    if (stat.size !== input.size || sha256(fs.readFileSync(path.join(root, input.path))) !== input.sha256) return false;
    input.mtimeMs = stat.mtimeMs;
    restat = true;
  }
  return { restat };
}

function readManifest(file) {
  try {
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    return manifest && Array.isArray(manifest.inputs) && typeof manifest.file === 'string' ? manifest : undefined;
  } catch {
    return undefined;
  }
}

function writeAtomically(file, data) {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(temp, data);
  fs.renameSync(temp, file);
}

/**
 * The path of bundle `name`, built now if its cached copy is missing or stale. Returns
 * `{ file, built }`: `built` says whether this call ran esbuild. `options.root` (the checkout whose
 * sources are bundled) and `options.cacheDir` default to this repository and its .nightshift/bundles.
 */
async function bundledFile(name, options = {}) {
  const root = options.root ?? repoRoot;
  const cacheDir = options.cacheDir ?? (options.root ? path.join(root, '.nightshift', 'bundles') : defaultCacheDir);
  if (!specs[name]) throw new Error(`unknown bundle ${JSON.stringify(name)}`);
  const manifestFile = path.join(cacheDir, `${name}.json`);
  const key = specKey(name);
  const manifest = readManifest(manifestFile);
  if (manifest && manifest.key === key && fs.existsSync(path.join(cacheDir, manifest.file))) {
    const unchanged = inputsUnchanged(manifest, root);
    if (unchanged) {
      if (unchanged.restat) writeAtomically(manifestFile, JSON.stringify(manifest));
      return { file: path.join(cacheDir, manifest.file), built: false };
    }
  }
  return { file: await build(name, root, cacheDir, key, manifestFile), built: true };
}

async function build(name, root, cacheDir, key, manifestFile) {
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const staging = fs.mkdtempSync(path.join(cacheDir, `.${name}-`));
  try {
    const stagedFile = path.join(staging, `${name}.js`);
    const result = await require('esbuild').build(buildOptions(name, stagedFile, root));
    const inputs = Object.keys(result.metafile.inputs)
      .filter((input) => !input.includes(':'))
      .sort()
      .map((input) => {
        const abs = path.join(root, input);
        const stat = fs.statSync(abs);
        return { path: input, size: stat.size, mtimeMs: stat.mtimeMs, sha256: sha256(fs.readFileSync(abs)) };
      });
    const contentHash = sha256(`${key}\n${inputs.map((i) => `${i.path} ${i.sha256}`).join('\n')}`).slice(0, 16);
    const file = `${name}-${contentHash}.js`;
    // The source map first, so the bundle never names a map that is not there yet.
    const map = fs.readFileSync(`${stagedFile}.map`, 'utf8');
    const code = fs.readFileSync(stagedFile, 'utf8').replace(`//# sourceMappingURL=${name}.js.map`, `//# sourceMappingURL=${file}.map`);
    writeAtomically(path.join(cacheDir, `${file}.map`), map);
    writeAtomically(path.join(cacheDir, file), code);
    writeAtomically(manifestFile, JSON.stringify({ key, file, inputs }));
    removeSuperseded(cacheDir, name, file);
    return path.join(cacheDir, file);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Builds of the bundle superseded more than an hour ago (a platform started before may still start runners from one). */
function removeSuperseded(cacheDir, name, keep) {
  const cutoff = Date.now() - 60 * 60 * 1000;
  for (const entry of fs.readdirSync(cacheDir)) {
    if (!entry.startsWith(`${name}-`) || entry.startsWith(keep)) continue;
    const file = path.join(cacheDir, entry);
    if (fs.statSync(file).mtimeMs < cutoff) fs.rmSync(file, { force: true });
  }
}

module.exports = { bundledFile, buildOptions, defaultCacheDir };

// `node bin/bundles.js build <name> <outfile>`: the image build (runner/Dockerfile).
if (require.main === module) {
  const [command, name, outfile] = process.argv.slice(2);
  if (command !== 'build' || !name || !outfile) {
    process.stderr.write('usage: node bin/bundles.js build <runner|cli> <outfile>\n');
    process.exit(2);
  }
  require('esbuild')
    .build({ ...buildOptions(name, path.resolve(outfile)), metafile: false })
    .catch(() => {
      process.exitCode = 1;
    });
}
