import '../core/polyfills';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../cli/api-client';
import { demoAssets } from '../local/demo';
import { jsonLog } from '../local/local-log';
import { PlatformMeter } from '../local/meter/platform-meter';
import { repoRoot } from '../local/platform';
import { HANDLER_ENTRY_METADATA } from '../local/state-machine/template';
import { synthesizedTemplate } from '../local/synthesized-stack';
import { startBenchPlatform } from './bench-platform';
import { RUN_COUNTS_FILE, dynamoTotals, lambdaTotals, priceRun, type RecordedRunCounts, type RunCounts } from './run-overhead-price';
import { runWhenMain } from './run-main';

/**
 * One run's platform overhead, counted: the local platform started for real (dynalite, the synthesized
 * state machine on the offline executor, the handlers in process, the runner as a process, squid when
 * installed) with a meter (local/meter/), one run of the demo's replayed session submitted through the
 * API and followed to its end, and what it did counted: state transitions (the executor's count),
 * DynamoDB units per table with index copies, Lambda invocations and durations, the handlers' log bytes
 * (their stdout and stderr, at the deployed log level INFO), the runner's and the proxy's log bytes, the
 * objects the runner stored (S3 PUTs on AWS), SNS publishes; then one tick of the run gauges (the
 * always-on Lambda, every minute) on its own. Prices them with bench/run-overhead-price.ts.
 * `--record` writes the counts to bench/run-overhead.counts.json, which bench/cost.ts prices.
 */

function filesUnder(dir: string): { files: number; bytes: number } {
  if (!existsSync(dir)) return { files: 0, bytes: 0 };
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

const sizeOf = (file: string | undefined) => (file && existsSync(file) ? statSync(file).size : 0);

/** Counts the bytes written to stdout and stderr (the handlers' log lines) and keeps them off the terminal until `stop`. */
function captureOutput(): { stop(): number } {
  let bytes = 0;
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const count = (chunk: unknown) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength;
    return true;
  };
  process.stdout.write = count as typeof process.stdout.write;
  process.stderr.write = count as typeof process.stderr.write;
  return {
    stop: () => {
      process.stdout.write = out;
      process.stderr.write = err;
      return bytes;
    },
  };
}

async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const meter = new PlatformMeter();
  const bench = await startBenchPlatform('overhead', { meter, handlerLogLevel: 'INFO' });
  const { platform, home } = bench;
  try {
    const { template } = await synthesizedTemplate({
      repoRoot,
      config: platform.config,
      cacheDir: join(tmpdir(), 'nightshift-bench-template-cache'),
      log: jsonLog(() => undefined),
    });
    const memoryMbByEntry: Record<string, number> = {};
    for (const r of Object.values(
      template.Resources as Record<string, { Type: string; Metadata?: Record<string, unknown>; Properties?: Record<string, unknown> }>,
    )) {
      const entry = r.Metadata?.[HANDLER_ENTRY_METADATA];
      if (r.Type === 'AWS::Lambda::Function' && typeof entry === 'string') memoryMbByEntry[entry] = Number(r.Properties?.MemorySize ?? 128);
    }
    const traces = join(home.root, 'traces');
    const tracesBefore = filesUnder(traces);
    const proxyBefore = sizeOf(platform.egressProxy?.accessLog);
    const client = new ApiClient({ baseUrl: platform.url });

    meter.reset();
    const output = captureOutput();
    let runId: string;
    let handlerLogBytes: number;
    try {
      ({ runId } = await client.submit({ repo: demoAssets.repo, prompt: 'Overhead benchmark run' }));
      // Followed through the executor (in memory), not the API: polling would add reads a run does not need.
      while (!platform.machine.list().some((e) => e.name === runId)) await new Promise((r) => setTimeout(r, 50));
      const ended = await platform.machine.waitForExecution(runId);
      if (ended.status !== 'SUCCEEDED') throw new Error(`the benchmark run's execution ended ${ended.status}`);
      // What runs after the execution (the runner's exit, SNS deliveries, status-change targets) settles.
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      handlerLogBytes = output.stop();
    }
    const counted = meter.snapshot();
    const execution = platform.machine.describe(runId);
    const tracesAfter = filesUnder(traces);
    const counts: RunCounts = {
      transitions: execution.stateTransitions,
      meter: counted,
      memoryMbByEntry,
      handlerLogBytes,
      runnerLogBytes: sizeOf(join(home.logs, `${runId}.runner.log`)),
      proxyLogBytes: sizeOf(platform.egressProxy?.accessLog) - proxyBefore,
      s3Puts: tracesAfter.files - tracesBefore.files,
      s3Gets: 0,
      apiRequests: 1,
    };

    // One run-gauges tick, alone: what the always-on function costs each minute.
    meter.reset();
    const tickOutput = captureOutput();
    const t0 = performance.now();
    let tickMs: number;
    try {
      const gauges = require('../lambdas/ops/run-gauges') as { handler: (event: unknown) => Promise<unknown> };
      await gauges.handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
    } finally {
      tickMs = Math.ceil(performance.now() - t0);
    }
    const tickLogBytes = tickOutput.stop();
    const tickDynamo = dynamoTotals(meter.snapshot());

    // Its status read through the API, its log line kept off the terminal (and out of the counts, taken above).
    const quiet = captureOutput();
    const run = await client.getRun(runId).finally(() => quiet.stop());
    if (run.status !== 'SUCCEEDED') throw new Error(`benchmark run ${runId} ended ${run.status}`);
    const recorded: RecordedRunCounts = {
      measuredAt: new Date().toISOString(),
      machine: `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg()[0]!.toFixed(1)}, Node ${process.version}`,
      command: 'npx tsx bench/run-overhead.bench.ts --record',
      session: `the demo's replayed session (local/demo/session.jsonl), egress proxy ${platform.egressProxy ? 'squid' : 'none'}`,
      run: counts,
      gaugeTick: {
        durationMs: tickMs,
        memoryMb: memoryMbByEntry['lambdas/ops/run-gauges.ts'] ?? 512,
        readUnits: tickDynamo.readUnits,
        writeUnits: tickDynamo.tableWriteUnits + tickDynamo.indexWriteUnits,
        logBytes: tickLogBytes,
      },
    };

    const lambda = lambdaTotals(counts);
    const dynamo = dynamoTotals(counted);
    console.log(`${recorded.machine}; ${recorded.session}; run ${runId} ${run.status}`);
    console.log(`state transitions: ${counts.transitions}`);
    console.log(`Lambda: ${lambda.invocations} invocations, ${lambda.gbSeconds.toFixed(3)} GB-s`);
    for (const [entry, f] of Object.entries(counted.lambda).sort())
      console.log(
        `  ${entry.padEnd(44)} ${String(f.invocations).padStart(4)} × ${(f.durationMs / f.invocations).toFixed(0).padStart(5)} ms at ${memoryMbByEntry[entry]} MB`,
      );
    console.log(`DynamoDB: ${dynamo.tableWriteUnits} table WRU + ${dynamo.indexWriteUnits} index WRU, ${dynamo.readUnits} RRU`);
    for (const [table, t] of Object.entries(counted.dynamo).sort()) {
      const requests = Object.entries(t.requests)
        .map(([op, n]) => `${op} ${n}`)
        .join(', ');
      const index = Object.entries(t.indexWriteUnits)
        .map(([i, u]) => `${i} ${u}`)
        .join(', ');
      console.log(`  ${table.padEnd(24)} ${t.writeUnits} WRU${index ? ` + index ${index}` : ''}, ${t.readUnits} RRU (${requests})`);
    }
    console.log(`log bytes: handlers ${counts.handlerLogBytes}, runner ${counts.runnerLogBytes}, proxy ${counts.proxyLogBytes}`);
    console.log(
      `objects stored (S3 PUTs on AWS): ${counts.s3Puts}; SNS publishes: ${counted.snsPublishes}; API requests: ${counts.apiRequests}`,
    );
    console.log(
      `run-gauges tick: ${tickMs} ms, ${recorded.gaugeTick.readUnits} RRU, ${recorded.gaugeTick.writeUnits} WRU, ${tickLogBytes} log bytes`,
    );
    console.log('\nCounted, priced (us-east-1, on demand):');
    let total = 0;
    for (const l of priceRun(counts)) {
      total += l.usd;
      console.log(`  ${l.item.padEnd(56)} ${l.quantity.padStart(26)} $${l.usd.toFixed(7)}`);
    }
    console.log(`  ${'counted total'.padEnd(56)} ${''.padStart(26)} $${total.toFixed(7)}`);
    if (argv.includes('--record')) {
      writeFileSync(join(__dirname, RUN_COUNTS_FILE), `${JSON.stringify(recorded, null, 2)}\n`);
      console.log(`\nrecorded in bench/${RUN_COUNTS_FILE} (bench/cost.ts prices it with the estimated lines)`);
    }
  } finally {
    await bench.stop();
  }
}

runWhenMain(module, main);
