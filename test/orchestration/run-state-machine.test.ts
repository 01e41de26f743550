import { RunnerResult } from '../../core/runs/schemas';
import { RunStates } from '../../infra/constructs/orchestrator';
import { StepFunctionsError } from '../../local/state-machine';
import { stackFixture, testConfig } from '../support/test-config';
import { eventually } from '../support/eventually';
import { admittedRanEnded, queuedWokenRanEnded } from '../support/run-state-paths';
import { withOrchestrationHarness } from './harness';

const config = testConfig(stackFixture);
const h = withOrchestrationHarness(config);

const prOpened: RunnerResult = {
  outcome: 'pr_opened',
  branch: 'nightshift/run-fix',
  prUrl: 'https://github.com/acme/web/pull/7',
  question: null,
  summary: 'Fixed the date test',
};

async function expectTaskClosed(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'TaskTimedOut' });
  await expect(promise).rejects.toBeInstanceOf(StepFunctionsError);
}

describe('the run state machine, executed offline from the synthesized template', () => {
  test('Given a submitted run, When it is admitted and its runner succeeds, Then the run ends SUCCEEDED with its PR, its task was handed its run key and is stopped, and a late callback is refused', async () => {
    const runId = await h.submit('acme/web');
    const runner = await h.runnerOf(runId);
    expect(runner.parameters).toMatchObject({
      StartedBy: runId,
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
      Overrides: {
        ContainerOverrides: [
          {
            Name: 'runner',
            Environment: [
              { Name: 'RUN_ID', Value: runId },
              { Name: 'TASK_TOKEN', Value: runner.token },
              { Name: 'RUN_KEY', Value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
            ],
          },
        ],
      },
    });
    // The task is handed the run key whose hash Admit stored: the broker will know it as this run's runner.
    const runKey = (
      runner.parameters as { Overrides: { ContainerOverrides: [{ Environment: { Name: string; Value: string }[] }] } }
    ).Overrides.ContainerOverrides[0].Environment.find((e) => e.Name === 'RUN_KEY')!.Value;
    expect(await h.db.store.runKeys.verify(runId, runKey)).toBe(true);
    expect((await h.db.store.runs.get(runId))?.status).toBe('STARTING');
    await h.runnerBegins(runId, 1_500);
    await h.machine.sendTaskHeartbeat(runner.token);
    await h.machine.sendTaskSuccess(runner.token, JSON.stringify(prOpened));

    const { execution, run } = await h.ended(runId);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual(admittedRanEnded);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', prUrl: prOpened.prUrl, error: null, queuePosition: null });
    expect(run.finishedAt).not.toBeNull();
    expect(h.stoppedTasks).toContain(runId);
    await h.expectNothingLeaked([runId]);
    // The execution's end reaches the GitHub function's rule too (it reports a GitHub run's end on its thread).
    const ended = await eventually(
      () => h.githubRunEnds.find((e) => (e as { detail?: { name?: string } }).detail?.name === runId),
      'the run-ended event',
    );
    expect(ended).toMatchObject({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: { status: 'SUCCEEDED' },
    });
    // The token is spent: a late callback is refused like AWS refuses it.
    await expectTaskClosed(h.machine.sendTaskSuccess(runner.token, JSON.stringify(prOpened)));
  });

  test('Given the repository slot taken, When a second run of that repository is submitted, Then it waits queued without compute; When the first run ends, Then the second is woken and runs', async () => {
    const first = await h.submit('acme/web');
    const firstRunner = await h.runnerOf(first);
    const second = await h.submit('acme/web'); // perRepo is 1
    const queued = await eventually(async () => {
      const run = await h.db.store.runs.get(second);
      return run?.queuePosition === 1 ? run : undefined;
    }, 'the second run to be queued at position 1');
    expect(queued.status).toBe('QUEUED');
    expect(h.runTasks.filter((c) => c.executionName === second)).toHaveLength(0);

    await h.runnerBegins(first, 100);
    await h.machine.sendTaskSuccess(firstRunner.token, JSON.stringify({ ...prOpened, outcome: 'no_changes', prUrl: null }));
    expect((await h.ended(first)).run.status).toBe('SUCCEEDED');

    const secondRunner = await h.runnerOf(second);
    await h.runnerBegins(second, 200);
    await h.machine.sendTaskSuccess(secondRunner.token, JSON.stringify(prOpened));
    const { execution, run } = await h.ended(second);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', queuePosition: null });
    // Woken by the first run's Finalize: Admit waited on its token, was woken, and admitted it on the second pass.
    expect(execution.statesEntered).toEqual(queuedWokenRanEnded);
    await h.expectNothingLeaked([first, second]);
  });

  test("Given a running run, When the runner sends SendTaskFailure, Then the run ends FAILED with the runner's reason", async () => {
    const runId = await h.submit('acme/api');
    const runner = await h.runnerOf(runId);
    expect(runner.parameters).toMatchObject({ CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE' }] });
    await h.runnerBegins(runId, 700);
    await h.machine.sendTaskFailure(runner.token, 'Nightshift.RunFailed', 'the tests failed at base and at head');
    const { execution, run } = await h.ended(runId);
    expect(execution.status).toBe('SUCCEEDED');
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'run_failed', message: 'the tests failed at base and at head' } });
    await h.expectNothingLeaked([runId]);
  });

  test('Given a running run, When the runner reports BudgetExceeded, Then the run ends BUDGET_EXCEEDED', async () => {
    const runId = await h.submit('acme/api');
    const runner = await h.runnerOf(runId);
    await h.runnerBegins(runId, 900);
    await h.machine.sendTaskFailure(runner.token, 'Nightshift.BudgetExceeded', 'next call does not fit');
    const { run } = await h.ended(runId);
    expect(run).toMatchObject({ status: 'BUDGET_EXCEEDED', error: { code: 'budget_exceeded' } });
    await h.expectNothingLeaked([runId]);
  });

  test('Given a run whose input sets TimeoutSecondsPath, When the wall clock runs out despite heartbeats, Then the run ends TIMED_OUT and its task is stopped', async () => {
    const runId = await h.submit('acme/web', { timeoutSeconds: 1, heartbeatSeconds: 600 });
    const runner = await h.runnerOf(runId);
    await h.runnerBegins(runId, 300);
    await h.machine.sendTaskHeartbeat(runner.token); // progress does not extend the wall clock
    const { run } = await h.ended(runId);
    expect(run).toMatchObject({ status: 'TIMED_OUT', error: { code: 'timed_out' } });
    expect(h.stoppedTasks).toContain(runId);
    await expectTaskClosed(h.machine.sendTaskSuccess(runner.token, JSON.stringify(prOpened)));
    await h.expectNothingLeaked([runId]);
  });

  test('Given a run whose input sets HeartbeatSecondsPath, When no heartbeat comes within it, Then the run ends FAILED (no_progress)', async () => {
    const runId = await h.submit('acme/web', { timeoutSeconds: 600, heartbeatSeconds: 1 });
    const runner = await h.runnerOf(runId);
    await h.runnerBegins(runId, 300);
    await h.machine.sendTaskHeartbeat(runner.token);
    const { run } = await h.ended(runId);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'no_progress' } });
    await expectTaskClosed(h.machine.sendTaskHeartbeat(runner.token));
    await h.expectNothingLeaked([runId]);
  });

  test('Given a queued run, When it is cancelled, Then it ends CANCELLED and never starts', async () => {
    const holder = await h.submit('acme/web');
    const holderRunner = await h.runnerOf(holder);
    const queued = await h.submit('acme/web');
    await eventually(async () => (await h.db.store.runs.get(queued))?.queuePosition === 1, 'the run to be queued');

    await h.cancel(queued);
    const { execution, run } = await h.ended(queued);
    expect(execution.status).toBe('ABORTED');
    expect(execution.deliveryErrors).toEqual([]);
    expect(run).toMatchObject({ status: 'CANCELLED', error: { code: 'cancelled' }, queuePosition: null });
    expect(execution.statesEntered).not.toContain(RunStates.runRunner);
    expect(h.runTasks.some((c) => c.executionName === queued)).toBe(false);

    await h.runnerBegins(holder, 50);
    await h.machine.sendTaskSuccess(holderRunner.token, JSON.stringify(prOpened));
    await h.ended(holder);
    await h.expectNothingLeaked([holder, queued]);
  });

  test('Given a queued run with a cancel requested that raced admission, When it is woken, Then admission refuses it and Finalize ends the run CANCELLED', async () => {
    const holder = await h.submit('acme/web');
    const holderRunner = await h.runnerOf(holder);
    const queued = await h.submit('acme/web');
    await eventually(async () => (await h.db.store.runs.get(queued))?.queuePosition === 1, 'the run to be queued');
    // A cancel that raced admission: recorded on the run, execution not (yet) stopped.
    await h.db.store.runs.patch(queued, { cancelRequested: true });
    // The holder ends; its Finalize wakes the queued run, whose Admit sees the cancel and takes no slot.
    await h.machine.sendTaskSuccess(holderRunner.token, JSON.stringify(prOpened));
    await h.ended(holder);

    const { execution, run } = await h.ended(queued);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered.slice(-2)).toEqual([RunStates.finalize, RunStates.done]);
    expect(run).toMatchObject({ status: 'CANCELLED', error: { code: 'cancelled' } });
    expect(h.runnersOf(queued)).toHaveLength(0);
    await h.expectNothingLeaked([holder, queued]);
  });

  test('Given a running run, When it is cancelled, Then the execution is stopped, the backstop ends the run CANCELLED and stops its task, and a late report is refused', async () => {
    const runId = await h.submit('acme/web');
    const runner = await h.runnerOf(runId);
    await h.runnerBegins(runId, 400);
    await h.cancel(runId);
    const { execution, run } = await h.ended(runId);
    expect(execution).toMatchObject({ status: 'ABORTED', error: 'Nightshift.Cancelled', deliveryErrors: [] });
    expect(run).toMatchObject({ status: 'CANCELLED', error: { code: 'cancelled' }, cancelRequested: true });
    expect(h.stoppedTasks).toContain(runId);
    // The runner reporting after the stop is refused: the run keeps its CANCELLED status.
    await expectTaskClosed(h.machine.sendTaskSuccess(runner.token, JSON.stringify(prOpened)));
    await h.expectNothingLeaked([runId]);
  });

  test('Given a running run, When its execution is aborted outside Nightshift, Then the backstop rule ends it CANCELLED and stops its task', async () => {
    const runId = await h.submit('acme/web');
    await h.runnerOf(runId);
    await h.runnerBegins(runId, 250);
    const { executionArn } = h.machine.describe(runId);
    await h.machine.stopExecution(executionArn, 'Console', 'stopped by an operator');
    const { execution, run } = await h.ended(runId);
    expect(execution).toMatchObject({ status: 'ABORTED', deliveryErrors: [] });
    expect(run.status).toBe('CANCELLED');
    expect(run.error?.message).toMatch(/stopped outside Nightshift/);
    expect(h.stoppedTasks).toContain(runId);
    await h.expectNothingLeaked([runId]);
  });

  test('Given a Finalize that keeps failing, When the run ends, Then the execution fails and the backstop finishes the clean-up', async () => {
    const runId = await h.submit('acme/api');
    const runner = await h.runnerOf(runId);
    await h.runnerBegins(runId, 120);
    const stop = h.deps.stopRunTasks;
    let failures = 0;
    // ECS unreachable for longer than Finalize's retries last; it is back when the backstop runs.
    h.deps.stopRunTasks = async (id) => {
      if (h.machine.describe(id).status === 'RUNNING') {
        failures++;
        throw Object.assign(new Error('ECS unavailable'), { name: 'ServerException' });
      }
      await stop(id);
    };
    await h.machine.sendTaskFailure(runner.token, 'Nightshift.RunFailed', 'tests failed');
    const { execution, run } = await h.ended(runId);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'Nightshift.FinalizeFailed', deliveryErrors: [] });
    expect(failures).toBeGreaterThan(1);
    expect(run.status).toBe('FAILED');
    expect(h.stoppedTasks).toContain(runId);
    await h.expectNothingLeaked([runId]);
  });
});

describe('the offline executor refuses what AWS refuses', () => {
  test('Given the offline executor, When it gets an unknown token, non-JSON output or a second execution with the same name, Then it refuses each as AWS does', async () => {
    await expect(h.machine.sendTaskSuccess('not-a-token', '{}')).rejects.toMatchObject({ name: 'InvalidToken' });
    const runId = await h.submit('acme/api');
    const runner = await h.runnerOf(runId);
    await expect(h.machine.sendTaskSuccess(runner.token, 'not json')).rejects.toMatchObject({ name: 'InvalidOutput' });
    expect(() => h.machine.start(runId, { other: true })).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }) as Error);
    await h.machine.sendTaskSuccess(runner.token, JSON.stringify(prOpened));
    await h.ended(runId);
    await h.expectNothingLeaked([runId]);
  });
});
