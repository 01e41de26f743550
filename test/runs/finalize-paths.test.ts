import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createStore } from '../../adapters/dynamodb';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { admitRun } from '../../core/runs/admission';
import { finalizeRun, type FinalizeDeps, type FinalizeInput } from '../../core/runs/finalize';
import { pauseRun } from '../../core/runs/pause';
import type { InboxNotification } from '../../core/inbox/inbox-notification';
import type { MetricRecord } from '../../core/metrics/catalog';
import { runEndedMetrics } from '../../core/metrics/run-metrics';
import type { RunnerResult } from '../../core/runs/schemas';
import { submitRun } from '../../core/runs/submit';
import { withFaults } from '../support/dynamo-faults';
import { startDynalite } from '../support/dynalite';
import { freshEachTest } from '../support/fresh-each-test';
import { prOpenedInput } from '../support/finalize-inputs';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * The paths of Finalize (core/runs/finalize.ts) the API's finalize tests do not walk, over dynalite:
 * what it writes for each ending (the error, the outcome, a pull request recorded earlier), the inbox
 * items it closes and creates (and announces once), the queue it leaves and wakes, its metrics, and
 * the races and DynamoDB faults around its terminal write. Each test on a fresh dynalite.
 */
const db = freshEachTest(startDynalite);

const config = testConfig(stackFixture);
const stopRunTasks = async () => undefined;
const deps = (overrides: Partial<FinalizeDeps> = {}): FinalizeDeps => ({ ...db.store, stopRunTasks, ...overrides });

async function queuedRun(thread?: string): Promise<string> {
  const { runId } = await submitRun(
    { config, ...db.store, threads: createThreadStore(db.doc, db.names.control), stopRunTasks, startExecution: async () => undefined },
    { request: { repo: 'acme/web', prompt: 'Tidy the README' }, requester: 'bob', source: 'cli', ...(thread ? { thread } : {}) },
  );
  return runId;
}

async function runningRun(thread?: string): Promise<string> {
  const runId = await queuedRun(thread);
  await db.store.runs.transition(runId, 'STARTING');
  await db.store.runs.transition(runId, 'RUNNING', { startedAt: new Date().toISOString() });
  return runId;
}

const succeeded = (runId: string, result: Partial<RunnerResult> = {}): FinalizeInput => prOpenedInput(runId, 7, result);
const failed = (runId: string): FinalizeInput => ({
  runId,
  status: 'FAILED',
  reason: { code: 'tests_broken', message: 'the tests could not run' },
});
const cancelled = (runId: string): FinalizeInput => ({ runId, status: 'CANCELLED', reason: { code: 'cancelled', message: 'c' } });

/** Finalize over a document client that can run a competing write before a command or throttle one. */
function faulty(overrides: Partial<FinalizeDeps> = {}) {
  const faults = withFaults(db.doc);
  return { faults, deps: deps({ ...createStore(faults.doc, db.names), ...overrides }) };
}
const isStatusWrite = (input: Record<string, unknown>) => String(input.UpdateExpression).includes('#status = :to');

describe('what Finalize writes on the run', () => {
  it('Given a running run, When it is finalized SUCCEEDED with no runner result, Then it ends with no error and no outcome', async () => {
    const runId = await runningRun();
    const { run } = await finalizeRun(deps(), { runId, status: 'SUCCEEDED', reason: { code: 'done', message: 'done' } });
    expect(run).toMatchObject({ status: 'SUCCEEDED', error: null, outcome: null });
  });

  it('Given a run that stopped at a question it did not word, When it is finalized, Then its error is the question with the reason as its words', async () => {
    const runId = await runningRun();
    const { run } = await finalizeRun(deps(), {
      runId,
      status: 'SUCCEEDED',
      reason: { code: 'question', message: 'Which major version?' },
      result: { outcome: 'question', branch: null, prUrl: null, question: null, summary: 's' },
    });
    expect(run.error).toEqual({ code: 'question', message: 'Which major version?' });
  });

  it('Given a run whose branch and pull request were recorded while it ran, When it ends with a result naming neither, Then it keeps both', async () => {
    const runId = await runningRun();
    await db.store.runs.patch(runId, { branch: 'nightshift/earlier', prUrl: 'https://github.com/acme/web/pull/3' });
    const { run } = await finalizeRun(deps(), succeeded(runId, { outcome: 'no_changes', branch: null, prUrl: null }));
    expect(run).toMatchObject({ outcome: 'no_changes', branch: 'nightshift/earlier', prUrl: 'https://github.com/acme/web/pull/3' });
  });

  it('Given a running run, When it is finalized, Then its timeline records the ending with the reason and the pull request, and its metrics are written once', async () => {
    const runId = await runningRun();
    const emitted: MetricRecord[] = [];
    const metrics = { emit: (record: MetricRecord) => void emitted.push(record) };
    const { run } = await finalizeRun(deps({ metrics }), succeeded(runId));
    await finalizeRun(deps({ metrics }), succeeded(runId));
    expect(emitted).toEqual(runEndedMetrics(run));
    expect(emitted.map((r) => r.name)).toContain('PullRequestsOpened');
    const { events } = await db.store.events.list(runId, { limit: 50 });
    expect(events.filter((e) => e.type === 'status').at(-1)).toMatchObject({
      message: 'RUNNING → SUCCEEDED: done',
      detail: {
        from: 'RUNNING',
        to: 'SUCCEEDED',
        reason: { code: 'pr_opened', message: 'done' },
        outcome: 'pr_opened',
        prUrl: 'https://github.com/acme/web/pull/7',
      },
    });
  });

  it('Given a run that already ended, When it is finalized again, Then no status write is even tried', async () => {
    const runId = await runningRun();
    await finalizeRun(deps(), failed(runId));
    const { faults, deps: faultyDeps } = faulty();
    expect(await finalizeRun(faultyDeps, cancelled(runId))).toMatchObject({ transitioned: false, run: { status: 'FAILED' } });
    expect(faults.sentCount({ command: UpdateCommand, table: db.names.runs, where: isStatusWrite })).toBe(0);
  });

  it('Given a queued run, When it is finalized SUCCEEDED (an edge the lifecycle does not have), Then it is an IllegalTransitionError and the run stays QUEUED', async () => {
    const runId = await queuedRun();
    await expect(finalizeRun(deps(), succeeded(runId))).rejects.toMatchObject({ name: 'IllegalTransitionError' });
    expect((await db.store.runs.get(runId))?.status).toBe('QUEUED');
  });
});

describe('Finalize racing with another finalizer', () => {
  it('Given another finalizer that ends the run between this one’s read and its terminal write, When this one writes, Then it answers the other’s ending, not transitioned', async () => {
    const runId = await runningRun();
    const { faults, deps: faultyDeps } = faulty();
    const raced = faults.before({ command: UpdateCommand, table: db.names.runs, key: { runId }, where: isStatusWrite }, async () => {
      await finalizeRun(deps(), failed(runId));
    });
    expect(await finalizeRun(faultyDeps, cancelled(runId))).toMatchObject({
      transitioned: false,
      run: { status: 'FAILED', error: { code: 'tests_broken' } },
    });
    expect(raced.fired).toBe(1);
  });

  it('Given a terminal write that DynamoDB throttles while another finalizer ends the run, When the run is finalized, Then the fault reaches the caller (its Retry runs Finalize again)', async () => {
    const runId = await runningRun();
    const { faults, deps: faultyDeps } = faulty();
    const match = { command: UpdateCommand, table: db.names.runs, key: { runId }, where: isStatusWrite };
    const raced = faults.before(match, async () => {
      await finalizeRun(deps(), failed(runId));
    });
    const throttled = faults.throttle(match);
    await expect(finalizeRun(faultyDeps, cancelled(runId))).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect([raced.fired, throttled.fired]).toEqual([1, 1]);
    expect(await db.store.runs.get(runId)).toMatchObject({ status: 'FAILED' });
  });
});

describe('the queue and the inbox at Finalize', () => {
  it('Given a queued run waiting for the only slot, When it is cancelled, Then it leaves the queue and Finalize wakes the queue once, at clean-up', async () => {
    const holder = await queuedRun();
    const admit = { ...db.store, caps: { global: 1, perRepo: 1 } };
    expect((await admitRun(admit, holder)).decision).toBe('admitted');
    const runId = await queuedRun();
    expect((await admitRun(admit, runId)).decision).toBe('queued');
    const wakes: unknown[] = [];
    await finalizeRun(deps({ wakeQueue: async (options) => void wakes.push(options) }), cancelled(runId));
    expect(await db.store.queue.head(10)).toEqual([]);
    expect(wakes).toEqual([undefined]);
  });

  it('Given a run of a GitHub thread, When it ends, Then Finalize wakes the queue again, held runs included, once the run is seen ended; When there is no waker, Then it ends all the same', async () => {
    const runId = await runningRun('acme/web#1');
    const wakes: Array<{ options: unknown; status: string | undefined }> = [];
    const wakeQueue = async (options?: { includeHeld?: boolean }) => {
      wakes.push({ options, status: (await db.store.runs.get(runId))?.status });
    };
    await finalizeRun(deps({ wakeQueue }), failed(runId));
    expect(wakes).toEqual([
      { options: undefined, status: 'RUNNING' },
      { options: { includeHeld: true }, status: 'FAILED' },
    ]);
    const unwoken = await runningRun('acme/web#2');
    await expect(finalizeRun(deps(), failed(unwoken))).resolves.toMatchObject({ run: { status: 'FAILED' } });
  });

  async function pausedRun(itemId: string): Promise<{ runId: string; itemId: string }> {
    const runId = await runningRun();
    const item = await pauseRun(
      { runs: db.store.runs, events: db.store.events, slots: db.store.slots, inbox: db.store.inbox, stopRunTasks },
      {
        runId,
        token: 'token-of-the-wait-state',
        report: {
          pause: {
            itemId,
            reason: 'question',
            message: 'Which timezone?',
            details: {},
            branch: `nightshift/${runId}-tidy`,
            checkpoint: 'file:///checkpoint.json',
          },
        },
      },
    );
    return { runId, itemId: item.itemId };
  }

  it('Given a paused run, When nobody answered in time (no_answer), Then its question is closed as expired; When a paused run is cancelled, Then its question is closed as closed', async () => {
    const timedOut = await pausedRun('01ARZ3NDEKTSV4RRFFQ69G5FAV');
    await finalizeRun(deps(), { runId: timedOut.runId, status: 'TIMED_OUT', reason: { code: 'no_answer', message: 'nobody answered' } });
    expect(await db.store.inbox.get(timedOut.itemId)).toMatchObject({ state: 'resolved', resolution: { action: 'expired' } });
    const cancelledRun = await pausedRun('01BX5ZZKBKACTAV9WEVGEMMVRZ');
    await finalizeRun(deps(), cancelled(cancelledRun.runId));
    expect(await db.store.inbox.get(cancelledRun.itemId)).toMatchObject({ state: 'resolved', resolution: { action: 'closed' } });
  });

  it('Given a run that failed, When Finalize runs twice, Then its failed item exists and is announced once, by the call that created it', async () => {
    const runId = await runningRun();
    const announced: InboxNotification[] = [];
    const notify = { itemCreated: async (n: InboxNotification) => void announced.push(n) };
    await finalizeRun(deps({ notify }), failed(runId));
    await finalizeRun(deps({ notify }), failed(runId));
    const items = await db.store.inbox.listByRun(runId);
    expect(items).toEqual([expect.objectContaining({ type: 'failed', state: 'open' })]);
    expect(announced).toEqual([{ itemId: items[0]!.itemId, type: 'failed', runId, repo: 'acme/web', requester: 'bob', thread: null }]);
  });

  it('Given a throttled write of the failed item, When the run is finalized, Then the run ends, the call fails naming the step and nothing is announced; When it is finalized again, Then the item is created and announced once', async () => {
    const runId = await runningRun();
    const announced: InboxNotification[] = [];
    const notify = { itemCreated: async (n: InboxNotification) => void announced.push(n) };
    const { faults, deps: faultyDeps } = faulty({ notify });
    const throttled = faults.throttle({ command: PutCommand, table: db.names.inbox });
    const finalizing = finalizeRun(faultyDeps, failed(runId));
    await expect(finalizing).rejects.toBeInstanceOf(AggregateError);
    await expect(finalizing).rejects.toMatchObject({
      message: `run ${runId}: 1 clean-up step(s) failed; FAILED written`,
      errors: [expect.objectContaining({ name: 'ProvisionedThroughputExceededException' })],
    });
    expect(throttled.fired).toBe(1);
    expect((await db.store.runs.get(runId))?.status).toBe('FAILED');
    expect(await db.store.inbox.listByRun(runId)).toEqual([]);
    expect(announced).toEqual([]);

    await finalizeRun(faultyDeps, failed(runId));
    expect(await db.store.inbox.listByRun(runId)).toEqual([expect.objectContaining({ type: 'failed' })]);
    expect(announced).toHaveLength(1);
  });
});
