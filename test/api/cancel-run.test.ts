import './quiet-powertools';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { finalizeRun } from '../../core/runs/finalize';
import { terminationFor } from '../../core/runs/termination';
import { controlItemKey, ledgerDay } from '../../adapters/dynamodb/tables';
import { cancelRunHandler } from '../../lambdas/api/cancel-run';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { apiEvent, bodyOf, snapshotTables, startApi, stateMachineArn } from './api-harness';
import { freshEachTest } from '../support/fresh-each-test';

describe('POST /v1/runs/{runId}/cancel', () => {
  const api = freshEachTest(startApi);
  const cancel = cancelRunHandler(() => api.deps);

  async function queuedRun(): Promise<string> {
    const result = await submitRunHandler(() => api.deps)(apiEvent({ body: { repo: 'acme/web', prompt: 'p' } }));
    expect(result.statusCode).toBe(202);
    return bodyOf(result).runId as string;
  }

  async function runningRun(): Promise<string> {
    const runId = await queuedRun();
    expect(await api.deps.slots.acquire(runId, 'acme/web', { global: 5, perRepo: 2 })).toBe(true);
    await api.deps.runs.transition(runId, 'STARTING');
    await api.deps.runs.transition(runId, 'RUNNING', { startedAt: new Date().toISOString() });
    return runId;
  }

  const orgCommitted = async () =>
    ((await api.db.doc.send(new GetCommand({ TableName: api.db.names.control, Key: { pk: controlItemKey.orgDay(ledgerDay(new Date())) } })))
      .Item?.committedMicros as number) ?? 0;

  const stops = () => api.sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input);

  it('Given a queued run, When it is cancelled, Then it ends CANCELLED at once, its budget is returned, its execution stopped, and it can never be admitted', async () => {
    const runId = await queuedRun();
    const result = await cancel(apiEvent({ runId }));

    expect(result.statusCode).toBe(202);
    expect(bodyOf(result)).toEqual({ runId, status: 'CANCELLED', cancelRequested: true });
    expect(await api.deps.runs.get(runId)).toMatchObject({
      status: 'CANCELLED',
      cancelRequested: true,
      settled: true,
      error: { code: 'cancelled' },
    });
    expect(await orgCommitted()).toBe(0);
    expect(stops()).toContainEqual(
      expect.objectContaining({
        executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`,
        error: 'Nightshift.Cancelled',
      }),
    );
    // It can never be admitted now.
    await expect(api.deps.runs.transition(runId, 'STARTING')).rejects.toThrow(/cannot move/);
  });

  it('Given a cancelled run, When it is cancelled again, Then the answer is the same 202 CANCELLED and nothing is written', async () => {
    const runId = await queuedRun();
    await cancel(apiEvent({ runId }));
    const before = await snapshotTables(api.db);
    const again = await cancel(apiEvent({ runId }));
    expect(again.statusCode).toBe(202);
    expect(bodyOf(again).status).toBe('CANCELLED');
    expect(await snapshotTables(api.db)).toEqual(before);
  });

  it('Given a running run, When it is cancelled, Then the request is recorded and its execution stopped, a second cancel records nothing new; When the backstop sees the aborted execution, Then it ends the run CANCELLED with nothing held', async () => {
    const runId = await runningRun();
    const result = await cancel(apiEvent({ runId }));
    expect(result.statusCode).toBe(202);
    expect(bodyOf(result)).toEqual({ runId, status: 'RUNNING', cancelRequested: true });
    expect(await api.deps.runs.get(runId)).toMatchObject({ status: 'RUNNING', cancelRequested: true, settled: false });
    expect(stops()).toEqual([expect.objectContaining({ executionArn: expect.stringContaining(`:execution:nightshift-runs:${runId}`) })]);

    // A second cancel of a cancelling run is accepted again and records nothing new.
    const eventsBefore = (await api.deps.events.list(runId, { limit: 50 })).events.length;
    expect((await cancel(apiEvent({ runId }))).statusCode).toBe(202);
    expect((await api.deps.events.list(runId, { limit: 50 })).events).toHaveLength(eventsBefore);

    // The backstop sees the ABORTED execution.
    const run = (await api.deps.runs.get(runId))!;
    const ending = terminationFor({ kind: 'execution_ended', executionStatus: 'ABORTED' }, run);
    await finalizeRun(api.deps, { runId, ...ending });
    expect(await api.deps.runs.get(runId)).toMatchObject({ status: 'CANCELLED', settled: true });
    expect(await api.deps.slots.holders()).toEqual([]);
    expect(await orgCommitted()).toBe(0);
  });

  it('Given a run that ended otherwise, When it is cancelled, Then the answer is 409; When an unknown or malformed id is cancelled, Then it is 404; nothing is written', async () => {
    const runId = await runningRun();
    await finalizeRun(api.deps, {
      runId,
      status: 'SUCCEEDED',
      reason: { code: 'no_changes', message: 'nothing to do' },
      result: { outcome: 'no_changes', branch: null, prUrl: null, question: null, summary: 's' },
    });
    const before = await snapshotTables(api.db);
    const ended = await cancel(apiEvent({ runId }));
    expect(ended.statusCode).toBe(409);
    expect(bodyOf(ended).error.code).toBe('run_ended');
    const unknown = await cancel(apiEvent({ runId: '01J00000000000000000000000' }));
    expect(unknown.statusCode).toBe(404);
    expect((await cancel(apiEvent({ runId: '../../etc' }))).statusCode).toBe(404);
    expect(await snapshotTables(api.db)).toEqual(before);
  });
});
