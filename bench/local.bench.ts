import '../core/polyfills';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../cli/api-client';
import { isTerminal } from '../core/runs/lifecycle';
import { demoAssets } from '../local/demo';
import { startBenchPlatform } from './bench-platform';
import { runWhenMain } from './run-main';

/**
 * Local mode, on real processes (the runner is the bundle the image runs, bin/bundles.js), median of 20
 * runs of the demo's replayed session, one at a time:
 *  - submit → RUNNING: from `POST /v1/runs` to the run's `startedAt`, which the broker stamps when the
 *    runner process, up and running, marks its run RUNNING (through the API handler, Admit, the runTask
 *    integration, the process's start and the bundle's load);
 *  - runner start → first model call: the runner process's own uptime at its first model call, as it
 *    logs it (Node's bootstrap included), with the clone, setup and base tests taken out, and in full.
 * For reference, submit → process spawned (where an earlier version of this benchmark stopped its clock).
 */
const samples = 20;

const FirstModelCall = (line: string) => {
  try {
    const entry = JSON.parse(line) as { message?: string; processUptimeMs?: number; timings?: Record<string, number> };
    return entry.message === 'first model call' && typeof entry.processUptimeMs === 'number' ? entry : undefined;
  } catch {
    return undefined;
  }
};

function median(xs: number[]): string {
  const sorted = [...xs].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms (min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)})`;
}

async function main(): Promise<void> {
  const bench = await startBenchPlatform('local');
  const { platform, home } = bench;
  const quiet = console.log;
  console.log = () => undefined;
  try {
    const client = new ApiClient({ baseUrl: platform.url });
    const spawned: number[] = [];
    const running: number[] = [];
    const firstCallNet: number[] = [];
    const firstCallFull: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = new Promise<number>((resolve) => platform.runners.once('started', () => resolve(Date.now())));
      const t0 = Date.now();
      const { runId } = await client.submit({ repo: demoAssets.repo, prompt: `Benchmark run ${i + 1}` });
      spawned.push((await started) - t0);
      for (;;) {
        if (isTerminal((await client.getRun(runId)).status)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const run = await client.getRun(runId);
      if (run.status !== 'SUCCEEDED' || !run.startedAt) throw new Error(`benchmark run ${runId} ended ${run.status}`);
      running.push(Date.parse(run.startedAt) - t0);
      const log = readFileSync(join(home.logs, `${runId}.runner.log`), 'utf8')
        .split('\n')
        .map(FirstModelCall)
        .find((e) => e !== undefined);
      if (!log) throw new Error(`runner ${runId} logged no first model call`);
      const t = log.timings ?? {};
      firstCallFull.push(log.processUptimeMs!);
      firstCallNet.push(log.processUptimeMs! - (t.clone ?? 0) - (t.setup ?? 0) - (t.baseTests ?? 0));
    }
    console.log = quiet;
    console.log(`submit → RUNNING (runner process up, its run marked RUNNING): ${median(running)} over ${samples} runs`);
    console.log(`runner process start → first model call, clone, setup and base tests taken out: ${median(firstCallNet)}`);
    console.log(`runner process start → first model call, in full (clone of the sample repo, its base tests): ${median(firstCallFull)}`);
    console.log(`(for reference) submit → runner process spawned: ${median(spawned)}`);
  } finally {
    console.log = quiet;
    await bench.stop();
  }
}

runWhenMain(module, main);
