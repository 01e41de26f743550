import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run bench`: runs every bench/*.bench.ts in its own fresh Node process, one after the other (they
 * time things; running them side by side would measure each other), and prints their figures.
 */
const benchDir = __dirname;
const root = join(benchDir, '..');
// cost.ts prices the synthesized stack; it is also run on its own (`npx tsx bench/cost.ts`, docs/cost.md).
const files = [
  ...readdirSync(benchDir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort(),
  'cost.ts',
];
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
