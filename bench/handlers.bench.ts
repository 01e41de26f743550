import '../core/polyfills';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { loadConfig } from '../core/config/load';
import { LAMBDA_NODE_OPTIONS, lambdaEsbuildOptions } from '../infra/constructs/lambda-defaults';
import { jsonLog } from '../local/local-log';
import { repoRoot } from '../local/platform';
import { extractStateMachine } from '../local/state-machine';
import { HANDLER_ENTRY_METADATA } from '../local/state-machine/template';
import { synthesizedTemplate } from '../local/synthesized-stack';
import { runWhenMain } from './run-main';

/**
 * Each Lambda handler of the synthesized stack: its bundle built with the options NodejsFunction uses
 * (infra/constructs/lambda-defaults.ts: minified, CommonJS, source map, the AWS SDK external as on the
 * Node.js Lambda runtime, the configuration inlined as at synth) and module init: the time `require()` of
 * the bundle takes in a fresh Node process started with the functions' NODE_OPTIONS (--enable-source-maps),
 * what a cold start pays before the first event besides the runtime's own bootstrap. Median of 5.
 * The last column names what the bytes are: the largest parts of the bundle by esbuild's metafile.
 */
const initRuns = 5;

/** What a bundled input counts as: its npm package, else its folder under core/ or lambdas/ (`core/store`). */
function partOf(input: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (pkg) return pkg[1]!;
  const parts = input.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : input;
}

/** The largest parts of a bundle (bytes each contributes to the minified output, from esbuild's metafile), largest first. */
function largestParts(inputs: Record<string, { bytesInOutput: number }>, count: number): string {
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(inputs))
    bytes.set(partOf(input), (bytes.get(partOf(input)) ?? 0) + bytesInOutput);
  return [...bytes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([part, b]) => `${part} ${(b / 1000).toFixed(1)}`)
    .join(', ');
}

async function main(): Promise<void> {
  const config = loadConfig(join(repoRoot, 'nightshift.config.json'));
  const { template } = await synthesizedTemplate({
    repoRoot,
    config,
    cacheDir: join(tmpdir(), 'nightshift-bench-template-cache'),
    log: jsonLog(() => undefined),
  });
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
    const headers = [
      'handler',
      'bundle (minified)',
      'module init (median of 5)',
      'of which the AWS SDK',
      'of which the bundle',
      'largest parts (KB)',
    ];
    const rows: string[][] = [];
    for (const entry of entries) {
      const outfile = join(out, `${entry.replace(/[/.]/g, '_')}.js`);
      const result = await build({ ...lambdaEsbuildOptions(entry, config, outfile), metafile: true });
      const bytes = statSync(outfile).size;
      // The runtime provides the SDK, so a cold start loads it from disk too: the probe times its packages
      // first, then the bundle (whose requires of them are then cache hits); the total is what init pays.
      const sdk = [
        ...new Set(
          Object.values(result.metafile.outputs).flatMap((o) =>
            o.imports.filter((i) => i.external && i.path.startsWith('@aws-sdk/')).map((i) => i.path),
          ),
        ),
      ];
      const probeScript = `const h=()=>process.hrtime.bigint();const t0=h();for(const p of ${JSON.stringify(sdk)})require(p);const t1=h();require(${JSON.stringify(outfile)});const t2=h();process.stdout.write(JSON.stringify([Number(t2-t0)/1e6,Number(t1-t0)/1e6,Number(t2-t1)/1e6]))`;
      const samples: number[][] = [];
      for (let i = 0; i < initRuns; i++) {
        const probe = spawnSync(process.execPath, ['-e', probeScript], {
          cwd: repoRoot,
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH,
            NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
            NODE_PATH: join(repoRoot, 'node_modules'),
            AWS_REGION: 'us-east-1',
            POWERTOOLS_METRICS_DISABLED: 'true',
          },
        });
        if (probe.status !== 0) throw new Error(`${entry} failed to load: ${probe.stderr.slice(0, 500)}`);
        samples.push(JSON.parse(probe.stdout) as number[]);
      }
      const median = (k: number) =>
        samples
          .map((x) => x[k]!)
          .sort((a, b) => a - b)
          [Math.floor(initRuns / 2)]!.toFixed(1);
      const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
      rows.push([
        entry,
        `${(bytes / 1000).toFixed(1)} KB`,
        `${median(0)} ms`,
        `${median(1)} ms`,
        `${median(2)} ms`,
        largestParts(output?.inputs ?? {}, 5),
      ]);
    }
    const widths = headers.map((h, i) => Math.max(...rows.map((r) => r[i]!.length), h.length));
    const line = (r: string[]) =>
      r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(
      `(Node ${process.version} on ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}; Lambda runs Node 24 on arm64)`,
    );
    console.log(line(headers));
    for (const r of rows) console.log(line(r));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

runWhenMain(module, main);
