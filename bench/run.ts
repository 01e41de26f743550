import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run bench`: runs every bench/*.bench.ts in its own fresh Node process, one after the other (they
 * time things; running them side by side would measure each other), and prints their figures.
 * `npm run bench -- console ledger` runs only the benchmarks with those names (`console.bench.ts`, ...),
 * with the same preloads: a bench file run bare with tsx cannot load the ESM-only packages some need.
 */
const benchDir = __dirname;
const root = join(benchDir, '..');
// cost.ts prices the synthesized stack; it is also run on its own (`npx tsx bench/cost.ts`, docs/cost.md).
const all = [
  ...readdirSync(benchDir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort(),
  'cost.ts',
];
const nameOf = (file: string) => file.replace(/(\.bench)?\.ts$/, '');
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !all.some((file) => nameOf(file) === name));
if (unknown.length > 0) {
  process.stderr.write(`no benchmark named ${unknown.join(', ')}; the benchmarks are ${all.map(nameOf).join(', ')}\n`);
  process.exit(2);
}
const files = wanted.length === 0 ? all : all.filter((file) => wanted.includes(nameOf(file)));
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  const result = spawnSync(
    process.execPath,
    ['--require', join(root, 'bin', 'esm-only-packages.js'), '--require', require.resolve('tsx/cjs'), join(benchDir, file)],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'true',
      },
    },
  );
  if (result.status !== 0) {
    failed++;
    process.stdout.write(`${file} failed (${result.signal ?? `exit ${result.status}`})\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
