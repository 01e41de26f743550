import './quiet-powertools';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { finalizeRun, type FinalizeDeps } from '../../core/runs/finalize';
import { RunNotFoundError } from '../../core/errors';
import { controlItemKey, ledgerDay } from '../../adapters/dynamodb/tables';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { apiEvent, bodyOf, snapshotTables, startApi } from './api-harness';
import { freshEachTest } from '../support/fresh-each-test';

describe('finalizeRun', () => {
  const api = freshEachTest(startApi);
  let stopped: string[];
  let deps: FinalizeDeps;

  beforeEach(() => {
    stopped = [];
    deps = { ...api.deps, stopRunTasks: async (runId) => void stopped.push(runId) };
  });

  async function runningRunThatSpent(micros: number): Promise<string> {
    const result = await submitRunHandler(() => api.deps)(apiEvent({ body: { repo: 'acme/web', prompt: 'p', budgetUsd: 1 } }));
    const runId = bodyOf(result).runId as string;
    await api.deps.slots.acquire(runId, 'acme/web', { global: 5, perRepo: 2 });
    await api.deps.runs.transition(runId, 'STARTING');
    await api.deps.runs.transition(runId, 'RUNNING', { startedAt: new Date().toISOString() });
    await api.deps.ledger.reserveCall(runId, 'call-1', 500_000);
    await api.deps.ledger.settleCall(runId, 'call-1', micros, { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0 });
    await api.deps.ledger.reserveCall(runId, 'call-2', 100_000); // in flight when the run ends: dropped
    return runId;
  }

  const orgCommitted = async () =>
    ((await api.db.doc.send(new GetCommand({ TableName: api.db.names.control, Key: { pk: controlItemKey.orgDay(ledgerDay(new Date())) } })))
      .Item?.committedMicros as number) ?? 0;

  it('Given a running run that spent 0.25 USD of its 1 USD, When it is finalized as succeeded, Then its tasks are stopped, its slots freed, the day keeps only the spend and the in-flight worst case, and the outcome is written once', async () => {
    // Given a running run that spent 0.25 USD of its 1 USD
    const runId = await runningRunThatSpent(250_000);
    const result = {
      outcome: 'pr_opened' as const,
      branch: `nightshift/${runId}-p`,
      prUrl: 'https://github.com/acme/web/pull/7',
      question: null,
      summary: 'done',
    };

    // When it is finalized as succeeded
    const first = await finalizeRun(deps, { runId, status: 'SUCCEEDED', reason: { code: 'pr_opened', message: 'done' }, result });

    // Then
    expect(first.transitioned).toBe(true);
    expect(first.run).toMatchObject({
      status: 'SUCCEEDED',
      outcome: 'pr_opened',
      prUrl: result.prUrl,
      branch: result.branch,
      error: null,
      settled: true,
      spentMicros: 250_000,
    });
    expect(first.run.finishedAt).not.toBeNull();
    expect(stopped).toEqual([runId]);
    expect(await api.deps.slots.holders()).toEqual([]);
    // The call still in flight keeps its 0.1 USD worst case on the day until it settles at its real cost.
    expect(await orgCommitted()).toBe(250_000 + 100_000);
    const statusEvents = (await api.deps.events.list(runId, { limit: 50 })).events.filter((e) => e.type === 'status');
    expect(statusEvents.at(-1)?.message).toMatch(/RUNNING → SUCCEEDED/);
  });

  it('Given a finalized run, When it is finalized again, with the same or another ending, Then the run and the tables are unchanged and only the idempotent clean-up runs again', async () => {
    const runId = await runningRunThatSpent(100_000);
    await finalizeRun(deps, { runId, status: 'FAILED', reason: { code: 'no_progress', message: 'stuck' } });
    const before = await snapshotTables(api.db);

    const again = await finalizeRun(deps, { runId, status: 'FAILED', reason: { code: 'no_progress', message: 'stuck' } });
    const other = await finalizeRun(deps, { runId, status: 'CANCELLED', reason: { code: 'cancelled', message: 'late' } });

    expect(again.transitioned).toBe(false);
    expect(other.transitioned).toBe(false);
    expect(other.run).toMatchObject({ status: 'FAILED', error: { code: 'no_progress', message: 'stuck' } });
    expect(await snapshotTables(api.db)).toEqual(before);
    expect(await orgCommitted()).toBe(100_000 + 100_000);
    // Clean-up is re-run each time (each step idempotent), so a finalizer that died half-way is completed by the next.
    expect(stopped).toEqual([runId, runId, runId]);
  });

  it('Given a run that stopped to ask, When it is finalized, Then its question is recorded as the outcome', async () => {
    const runId = await runningRunThatSpent(1);
    const { run } = await finalizeRun(deps, {
      runId,
      status: 'SUCCEEDED',
      reason: { code: 'question', message: 'Which major version?' },
      result: { outcome: 'question', branch: null, prUrl: null, question: 'Which major version?', summary: 's' },
    });
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      outcome: 'question',
      error: { code: 'question', message: 'Which major version?' },
      prUrl: null,
    });
  });

  it('Given two finalizers racing, When both end the run, Then it ends once, both answer the same final status, and the day is settled once', async () => {
    const runId = await runningRunThatSpent(10);
    // Both settle before anything is checked: a finalizer that failed must not leave the other writing after the test.
    const settled = await Promise.allSettled([
      finalizeRun(deps, { runId, status: 'TIMED_OUT', reason: { code: 'timed_out', message: 't' } }),
      finalizeRun(deps, { runId, status: 'CANCELLED', reason: { code: 'cancelled', message: 'c' } }),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
    const outcomes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    expect(outcomes.filter((o) => o.transitioned)).toHaveLength(1);
    const final = (await api.deps.runs.get(runId))!;
    expect(outcomes.map((o) => o.run.status)).toEqual([final.status, final.status]);
    expect((await api.deps.events.list(runId, { limit: 50 })).events.filter((e) => e.message.includes('RUNNING →'))).toHaveLength(1);
    expect(await orgCommitted()).toBe(10 + 100_000);
  });

  it('Given a task stop that fails, When the run is finalized, Then it fails with every error collected, but the slots are freed, the ledger settled and the run ended; When finalized again, Then the clean-up completes and the run is unchanged', async () => {
    // Given a running run holding slots, and a task stop that fails (AccessDenied, ECS outage)
    const runId = await runningRunThatSpent(200_000);
    await api.deps.ledger.settleCall(runId, 'call-2', 100_000, { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 });
    const stopFailure = new Error('AccessDenied: ecs:StopTask');
    const failing: FinalizeDeps = { ...deps, stopRunTasks: async () => Promise.reject(stopFailure) };
    // When it is finalized
    const finalizing = finalizeRun(failing, { runId, status: 'TIMED_OUT', reason: { code: 'timed_out', message: 't' } });
    // Then the call fails with every error collected (so Retry/Catch and the backstop act)
    await expect(finalizing).rejects.toBeInstanceOf(AggregateError);
    await expect(finalizing).rejects.toMatchObject({ errors: [stopFailure] });
    // But the slots were released, the ledger settled and the terminal status written anyway
    expect(await api.deps.slots.holders()).toEqual([]);
    expect(await orgCommitted()).toBe(300_000);
    expect(await api.deps.runs.get(runId)).toMatchObject({ status: 'TIMED_OUT', settled: true });
    // And a later finalize that can stop the tasks completes the clean-up without changing the run
    const again = await finalizeRun(deps, { runId, status: 'FAILED', reason: { code: 'x', message: 'y' } });
    expect(again).toMatchObject({ transitioned: false, run: { status: 'TIMED_OUT' } });
    expect(stopped).toEqual([runId]);
  });

  it('Given an unknown run, When it is finalized, Then it is RunNotFoundError', async () => {
    await expect(
      finalizeRun(deps, { runId: '01J00000000000000000000000', status: 'FAILED', reason: { code: 'x', message: 'y' } }),
    ).rejects.toBeInstanceOf(RunNotFoundError);
  });
});
