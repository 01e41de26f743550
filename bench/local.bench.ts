import '../core/polyfills';
import { ApiClient } from '../cli/api-client';
import { isTerminal } from '../core/runs/lifecycle';
import { demoAssets } from '../local/demo';
import { startBenchPlatform } from './bench-platform';
import { runWhenMain } from './run-main';

/**
 * Local mode: from `POST /v1/runs` to the runner process being started (through the API handler, the
 * state machine's Admit task and the runTask integration), median of 20 runs, one at a time.
 */
const samples = 20;

async function main(): Promise<void> {
  const bench = await startBenchPlatform('local');
  const { platform } = bench;
  const quiet = console.log;
  console.log = () => undefined;
  try {
    const client = new ApiClient({ baseUrl: platform.url });
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = new Promise<number>((resolve) => platform.runners.once('started', () => resolve(performance.now())));
      const t0 = performance.now();
      const { runId } = await client.submit({ repo: demoAssets.repo, prompt: `Benchmark run ${i + 1}` });
      times.push((await started) - t0);
      for (;;) {
        if (isTerminal((await client.getRun(runId)).status)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    times.sort((a, b) => a - b);
    console.log = quiet;
    console.log(`submit → runner process started: median ${times[Math.floor(samples / 2)]!.toFixed(0)} ms over ${samples} runs (min ${times[0]!.toFixed(0)} ms, max ${times[samples - 1]!.toFixed(0)} ms)`);
  } finally {
    console.log = quiet;
    await bench.stop();
  }
}

runWhenMain(module, main);
