import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { WOKEN_OUTPUT } from '../../core/runs/queue-wake';
import type { RunnerResult } from '../../core/runs/schemas';
import { controlItemKey } from '../../adapters/dynamodb/tables';
import { QUEUE_RECHECK_SECONDS, RunStates } from '../../infra/constructs/orchestrator';
import { runGaugeTick } from '../../lambdas/ops/run-gauges';
import { synthesize } from '../infra/synth';
import { stackFixture, testConfig } from '../support/test-config';
import { eventually } from '../support/eventually';
import { queuedWokenRanEnded } from '../support/run-state-paths';
import { OrchestrationHarness } from './harness';

// The definition under test is the synthesized one; the caps are what the handlers read from the config.
const template = synthesize({ config: testConfig(stackFixture), prebuiltRunnerImage: true }).json;
const oneSlot = testConfig(stackFixture, { concurrency: { global: 1, perRepo: 1 } });
const done: RunnerResult = { outcome: 'no_changes', branch: null, prUrl: null, question: null, summary: 'nothing to change' };

let h: OrchestrationHarness;
afterEach(async () => {
  await h.stop();
});

/** The run waits in the queue on its Admit state's token (stored with its queue entry), holding nothing. */
async function waitingInQueue(runId: string): Promise<void> {
  await eventually(async () => {
    const { Item } = await h.db.doc.send(
      new GetCommand({ TableName: h.db.names.control, Key: { pk: controlItemKey.queueEntry(runId) }, ConsistentRead: true }),
    );
    return typeof Item?.token === 'string' && h.machine.tokens.openTokens(runId).some((t) => t.stateName === RunStates.admit);
  }, `run ${runId} to wait in the queue`);
}

/** Ends a started run through its runner's token, as the runner reports. */
async function finish(runId: string): Promise<void> {
  const runner = await h.runnerOf(runId);
  await h.machine.sendTaskSuccess(runner.token, JSON.stringify(done));
  await h.ended(runId);
}

const startedOrder = () => h.runTasks.map((c) => c.executionName);

test('Given a run queued behind the only slot, When the slot holder ends, Then its Finalize wakes the queued run, which starts within at most 10 state transitions', async () => {
  h = await OrchestrationHarness.start(template, oneSlot);
  const holder = await h.submit('acme/web');
  await h.runnerOf(holder);
  const queued = await h.submit('acme/api');
  await waitingInQueue(queued);
  // Queued: no compute, no slot, no Wait-state loop; the position is counted from the queue index.
  expect(h.runnersOf(queued)).toHaveLength(0);
  expect(await h.db.store.slots.holders()).toEqual([holder]);
  expect(await h.db.store.queue.position(queued, 'normal')).toBe(1);
  expect(h.machine.describe(queued).statesEntered).toEqual([RunStates.admit]);

  await finish(holder);
  await h.runnerOf(queued);
  expect(await h.db.store.slots.holders()).toEqual([queued]);
  await finish(queued);
  const { execution } = await h.ended(queued);
  expect(execution.statesEntered).toEqual(queuedWokenRanEnded);
  expect(execution.stateTransitions).toBeLessThanOrEqual(10);
  expect(await h.db.store.queue.head(10)).toEqual([]);
  await h.expectNothingLeaked([holder, queued]);
});

test('Given runs queued with priorities, When the slot is freed run after run, Then they start high first, then normal in submission order, then low', async () => {
  h = await OrchestrationHarness.start(template, oneSlot);
  const holder = await h.submit('acme/web');
  await h.runnerOf(holder);
  const normal1 = await h.submit('acme/api');
  await waitingInQueue(normal1);
  const low = await h.submit('acme/api', undefined, { priority: 'low' });
  await waitingInQueue(low);
  const normal2 = await h.submit('acme/web');
  await waitingInQueue(normal2);
  const high = await h.submit('acme/api', undefined, { priority: 'high' });
  await waitingInQueue(high);

  // Positions come from the queue's order keys: priority rank, then submission.
  const positions = await Promise.all([high, normal1, normal2].map((id) => h.db.store.queue.position(id, id === high ? 'high' : 'normal')));
  expect(positions).toEqual([1, 2, 3]);
  expect(await h.db.store.queue.position(low, 'low')).toBe(4);
  expect((await h.db.store.runs.get(low))?.priority).toBe('low');

  for (const next of [holder, high, normal1, normal2]) {
    await finish(next);
  }
  await finish(low);
  expect(startedOrder()).toEqual([holder, high, normal1, normal2, low]);
  await h.expectNothingLeaked([holder, high, normal1, normal2, low]);
});

test("Given concurrency.perRequester 1, When a second run of the same person is submitted, Then it waits while another person's later run starts; When that person's first run ends, Then the freed slot wakes it", async () => {
  h = await OrchestrationHarness.start(template, testConfig(stackFixture, { concurrency: { global: 3, perRepo: 3, perRequester: 1 } }));
  const alice1 = await h.submit('acme/web', undefined, { requester: 'alice' });
  await h.runnerOf(alice1);
  const alice2 = await h.submit('acme/api', undefined, { requester: 'alice' });
  await waitingInQueue(alice2);
  // FIFO per cap: alice's waiting run does not hold back bob's.
  const bob = await h.submit('acme/api', undefined, { requester: 'bob' });
  await h.runnerOf(bob);
  expect(h.runnersOf(alice2)).toHaveLength(0);
  expect((await h.db.store.slots.holders()).sort()).toEqual([alice1, bob].sort());
  expect((await h.db.store.slots.occupancy([], ['alice', 'bob'])).requesters).toEqual({ alice: 1, bob: 1 });

  await finish(alice1);
  await h.runnerOf(alice2);
  await finish(alice2);
  await finish(bob);
  await h.expectNothingLeaked([alice1, alice2, bob]);
  expect((await h.db.store.slots.occupancy([], ['alice', 'bob'])).requesters).toEqual({ alice: 0, bob: 0 });
});

test('Given a queued run with a run behind it, When it is cancelled, Then it ends CANCELLED and leaves the queue, the run behind moves up and no slot stays held', async () => {
  h = await OrchestrationHarness.start(template, oneSlot);
  const holder = await h.submit('acme/web');
  await h.runnerOf(holder);
  const queued = await h.submit('acme/api');
  await waitingInQueue(queued);
  const behind = await h.submit('acme/api');
  await waitingInQueue(behind);
  expect(await h.db.store.queue.position(behind, 'normal')).toBe(2);

  await h.cancel(queued);
  const { run } = await h.ended(queued);
  expect(run.status).toBe('CANCELLED');
  expect((await h.db.store.queue.head(10)).map((e) => e.runId)).toEqual([behind]);
  expect(await h.db.store.queue.position(behind, 'normal')).toBe(1);

  await finish(holder);
  await finish(behind);
  expect(h.runnersOf(queued)).toHaveLength(0);
  await h.expectNothingLeaked([holder, queued, behind]);
});

test('Given a woken run that finds no slot after all (a lost race), When it runs Admit again, Then it waits again in the same place without waking the run behind; When the slot is released, Then it starts before the runs behind it', async () => {
  h = await OrchestrationHarness.start(template, oneSlot);
  const holder = await h.submit('acme/web');
  await h.runnerOf(holder);
  const first = await h.submit('acme/api');
  await waitingInQueue(first);
  const second = await h.submit('acme/api');
  await waitingInQueue(second);

  // A waker that raced: it takes the first run's token and wakes it while the slot is still held.
  const token = await h.db.store.queue.claim(first, new Date().toISOString());
  await h.machine.sendTaskSuccess(token!, WOKEN_OUTPUT);
  await eventually(() => h.machine.describe(first).statesEntered.length >= 3, 'the woken run to run Admit again');
  await waitingInQueue(first);
  expect(h.runnersOf(first)).toHaveLength(0);
  expect(await h.db.store.queue.position(first, 'normal')).toBe(1);
  // It did not wake the run behind it for a slot that is not free.
  expect(h.machine.describe(second).statesEntered).toEqual([RunStates.admit]);

  await finish(holder);
  await h.runnerOf(first);
  expect(h.runnersOf(second)).toHaveLength(0);
  await finish(first);
  await finish(second);
  expect(startedOrder()).toEqual([holder, first, second]);
  await h.expectNothingLeaked([holder, first, second]);
});

test('Given a release whose wake-up is lost, When the per-minute queue sweep runs, Then it wakes and admits the queued run', async () => {
  h = await OrchestrationHarness.start(template, oneSlot);
  const holder = await h.submit('acme/web');
  await h.runnerOf(holder);
  const queued = await h.submit('acme/api');
  await waitingInQueue(queued);

  // The holder's Finalize frees the slot but its wake-up never happens.
  const wakeQueue = h.deps.wakeQueue;
  delete h.deps.wakeQueue;
  await finish(holder);
  expect(h.runnersOf(queued)).toHaveLength(0);
  expect(await h.db.store.slots.holders()).toEqual([]);
  h.deps.wakeQueue = wakeQueue;

  // One tick of the run gauges, as the per-minute schedule runs it.
  const tick = await runGaugeTick({
    runs: h.db.store.runs,
    events: h.db.store.events,
    intake: h.db.store.intake,
    metrics: { emit: () => undefined },
    slots: h.db.store.slots,
    repos: ['acme/web', 'acme/api'],
    queueWake: { queue: h.db.store.queue, caps: h.deps.caps, wakeRun: (token) => h.deps.completeTask(token, WOKEN_OUTPUT) },
  });
  expect(tick.woken).toEqual([queued]);
  await h.runnerOf(queued);
  await finish(queued);
  await h.expectNothingLeaked([holder, queued]);
});

test('Given no wake-up for QUEUE_RECHECK_SECONDS, When the Admit state times out, Then it runs Admit again and the run keeps its place', async () => {
  // The executor's callback clock runs so that the 4-hour re-check takes one second.
  h = await OrchestrationHarness.start(template, oneSlot, { callbackTimeScale: 1 / QUEUE_RECHECK_SECONDS });
  // The runners' clocks are scaled too: a long wall clock and heartbeat keep each on its slot until it reports.
  const clocks = { timeoutSeconds: 86_400 * 30, heartbeatSeconds: 86_400 * 30 };
  const holder = await h.submit('acme/web', clocks);
  await h.runnerOf(holder);
  const queued = await h.submit('acme/api', clocks);
  await waitingInQueue(queued);
  const behind = await h.submit('acme/api', clocks);
  await waitingInQueue(behind);

  await eventually(
    () => h.machine.describe(queued).statesEntered.filter((s) => s === RunStates.admit).length >= 2,
    'the re-check timeout to run Admit again',
    20_000,
  );
  await waitingInQueue(queued);
  expect(h.machine.describe(queued).statesEntered.slice(0, 2)).toEqual([RunStates.admit, RunStates.admit]);
  expect(await h.db.store.queue.position(queued, 'normal')).toBe(1);
  expect(h.runnersOf(queued)).toHaveLength(0);
  expect(await h.db.store.queue.position(behind, 'normal')).toBe(2);

  // The run behind leaves before the slot frees: its own re-check, a second later on this scaled clock,
  // could take the freed slot before the woken run's Admit does (a re-check does not yet defer to the
  // runs ahead of it; docs/architecture.md#admission-and-the-queue says so).
  await h.cancel(behind);
  await h.ended(behind);
  await finish(holder);
  await finish(queued);
  expect(startedOrder()).toEqual([holder, queued]);
  await h.expectNothingLeaked([holder, queued, behind]);
});
