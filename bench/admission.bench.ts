import '../core/polyfills';
import { performance } from 'node:perf_hooks';
import type { RunnerResult } from '../core/runs/schemas';
import { QUEUE_RECHECK_SECONDS } from '../infra/constructs/orchestrator';
import { synthesize } from '../test/infra/synth';
import { stackFixture, testConfig } from '../test/support/test-config';
import { eventually } from '../test/support/eventually';
import { OrchestrationHarness } from '../test/orchestration/harness';
import { runWhenMain } from './run-main';

/**
 * Event-driven admission (issue 14 item 1), on the synthesized state machine run by the offline
 * executor, with the real handlers over dynalite:
 * - slot-free → next admitted: from the moment the holder's Finalize has released its slots to the
 *   moment the queued run's runner task is requested (its Admit woken, re-run, admitted);
 * - state transitions per run (states entered plus retries, as Step Functions bills them): no queue,
 *   and queued 1 minute, 10 minutes, 1 hour and 6 hours. Queue time is driven through the executor's callback clock
 *   (`callbackTimeScale`: one real second is thirty minutes), so the Admit state's re-check timeout
 *   (QUEUE_RECHECK_SECONDS) fires as it would on AWS.
 */
const done: RunnerResult = { outcome: 'no_changes', branch: null, prUrl: null, question: null, summary: 'nothing to change' };
const oneSlot = testConfig(stackFixture, { concurrency: { global: 1, perRepo: 1 } });
const SCALE = 1 / 1800;

async function finish(h: OrchestrationHarness, runId: string): Promise<void> {
  const runner = await h.runnerOf(runId);
  await h.machine.sendTaskSuccess(runner.token, JSON.stringify(done));
  await h.ended(runId);
}

async function waitingInQueue(h: OrchestrationHarness, runId: string): Promise<void> {
  await eventually(
    async () =>
      (await h.db.store.runs.get(runId))?.queuePosition === 1 && h.machine.tokens.openTokens(runId).some((t) => t.stateName === 'Admit'),
    `${runId} to wait in the queue`,
  );
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function wakeLatency(template: unknown, rounds: number): Promise<number[]> {
  const h = await OrchestrationHarness.start(template, oneSlot);
  const latencies: number[] = [];
  try {
    let holder = await h.submit('acme/web');
    await h.runnerOf(holder);
    let releasedAt = 0;
    const release = h.deps.slots.release.bind(h.deps.slots);
    h.deps.slots.release = async (...args) => {
      await release(...args);
      releasedAt = performance.now();
    };
    for (let i = 0; i < rounds; i++) {
      const queued = await h.submit(i % 2 === 0 ? 'acme/api' : 'acme/web');
      await waitingInQueue(h, queued);
      const runner = await h.runnerOf(holder);
      releasedAt = 0;
      await h.machine.sendTaskSuccess(runner.token, JSON.stringify(done));
      await eventually(() => h.runnersOf(queued).length > 0, `${queued} to be admitted`, 30_000);
      latencies.push(performance.now() - releasedAt);
      await h.ended(holder);
      holder = queued;
    }
    await finish(h, holder);
  } finally {
    await h.stop();
  }
  return latencies;
}

async function transitionsFor(template: unknown, queuedMinutes: number): Promise<number> {
  const h = await OrchestrationHarness.start(template, oneSlot, { callbackTimeScale: SCALE });
  try {
    if (queuedMinutes === 0) {
      const alone = await h.submit('acme/web');
      await finish(h, alone);
      return (await h.ended(alone)).execution.stateTransitions;
    }
    // The holder's own clocks run scaled too: a day of wall clock and heartbeat, so it holds the slot for the whole wait.
    const holder = await h.submit('acme/web', { timeoutSeconds: 86_400, heartbeatSeconds: 86_400 });
    await h.runnerOf(holder);
    const queued = await h.submit('acme/api');
    await waitingInQueue(h, queued);
    // The holder keeps the slot for `queuedMinutes` of the executor's callback clock.
    await new Promise((resolve) => setTimeout(resolve, queuedMinutes * 60_000 * SCALE));
    await finish(h, holder);
    await finish(h, queued);
    return (await h.ended(queued)).execution.stateTransitions;
  } finally {
    await h.stop();
  }
}

async function main(): Promise<void> {
  const template = synthesize({ config: testConfig(stackFixture), prebuiltRunnerImage: true }).json;
  const latencies = await wakeLatency(template, 20);
  process.stdout.write(
    `slot-free → next admitted (local: offline executor, in-process handlers, dynalite; ${latencies.length} rounds): median ${percentile(latencies, 0.5).toFixed(0)} ms, p90 ${percentile(latencies, 0.9).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms\n`,
  );
  const poll = (minutes: number) => 6 + 3 * Math.ceil((minutes * 60) / 20);
  for (const minutes of [0, 1, 10, 60, 360]) {
    const transitions = await transitionsFor(template, minutes);
    const label = minutes === 0 ? 'no queue' : minutes >= 60 ? `queued ${minutes / 60} h` : `queued ${minutes} min`;
    const before = minutes === 0 ? '' : ` (the 20-second poll loop it replaces: ${poll(minutes)})`;
    process.stdout.write(`state transitions per run, ${label}: ${transitions}${before}\n`);
  }
  process.stdout.write(
    `(a queued run is re-checked by its Admit state's timeout every ${QUEUE_RECHECK_SECONDS / 3600} h without a wake-up: +1 transition each)\n`,
  );
}

runWhenMain(module, main);
