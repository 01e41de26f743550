import '../core/polyfills';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { loadConfig } from '../core/config/load';
import { jsonLog } from '../local/local-log';
import { repoRoot } from '../local/platform';
import { extractStateMachine } from '../local/state-machine';
import { HANDLER_ENTRY_METADATA } from '../local/state-machine/template';
import { synthesizedTemplate } from '../local/synthesized-stack';
import { runWhenMain } from './run-main';

/**
 * Each Lambda handler of the synthesized stack: its esbuild bundle (minified, CommonJS, the AWS SDK
 * external as on the Node.js Lambda runtime, the configuration inlined as at synth) and the time a fresh
 * Node process takes to load it (module init, what a cold start pays before the first event), median of 5.
 */
const initRuns = 5;

async function main(): Promise<void> {
  const config = loadConfig(join(repoRoot, 'nightshift.config.json'));
  const { template } = await synthesizedTemplate({ repoRoot, config, cacheDir: join(tmpdir(), 'nightshift-bench-template-cache'), log: jsonLog(() => undefined) });
  extractStateMachine(template);
  const entries = [
    ...new Set(
      Object.values(template.Resources)
        .map((r) => (r as { Metadata?: Record<string, unknown> }).Metadata?.[HANDLER_ENTRY_METADATA])
        .filter((e): e is string => typeof e === 'string'),
    ),
  ].sort();
  const out = mkdtempSync(join(tmpdir(), 'nightshift-bench-bundles-'));
  try {
    const rows: string[][] = [];
    for (const entry of entries) {
      const outfile = join(out, `${entry.replace(/[/.]/g, '_')}.js`);
      await build({
        entryPoints: [join(repoRoot, entry)],
        outfile,
        bundle: true,
        minify: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        external: ['@aws-sdk/*'],
        define: { 'process.env.NIGHTSHIFT_CONFIG_JSON': JSON.stringify(JSON.stringify(config)) },
        logLevel: 'error',
      });
      const bytes = statSync(outfile).size;
      const times: number[] = [];
      for (let i = 0; i < initRuns; i++) {
        const probe = spawnSync(process.execPath, ['-e', `const t=process.hrtime.bigint();require(${JSON.stringify(outfile)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`], {
          cwd: repoRoot,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, NODE_PATH: join(repoRoot, 'node_modules'), AWS_REGION: 'us-east-1', POWERTOOLS_METRICS_DISABLED: 'true' },
        });
        if (probe.status !== 0) throw new Error(`${entry} failed to load: ${probe.stderr.slice(0, 500)}`);
        times.push(Number(probe.stdout));
      }
      times.sort((a, b) => a - b);
      rows.push([entry, `${(bytes / 1024).toFixed(1)} KiB`, `${times[Math.floor(times.length / 2)]!.toFixed(1)} ms`]);
    }
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['handler', 'bundle (minified)', 'module init (median of 5)'][i]!.length));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(line(['handler', 'bundle (minified)', 'module init (median of 5)']));
    for (const r of rows) console.log(line(r));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

runWhenMain(module, main);
