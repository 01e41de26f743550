import type { RunnerPause } from '../../core/inbox/pause-report';
import { INTERRUPTION_RESUME_NOTE } from '../../core/runs/automatic-resume';
import { newRunId } from '../../core/runs/run-id';
import { RUNNER_LOST_ERROR } from '../../core/runs/runner-stop';
import type { RunnerResult } from '../../core/runs/schemas';
import { stackFixture, testConfig } from '../support/test-config';
import { eventually } from '../support/eventually';
import { withOrchestrationHarness } from './harness';

const config = testConfig(stackFixture);
const h = withOrchestrationHarness(config);

const branch = 'nightshift/run-fix';

function interruption(): RunnerPause {
  return {
    pause: {
      itemId: newRunId(),
      reason: 'interrupted',
      message: 'the runner task was interrupted (SIGTERM) at turn 3: stopped during a tool command',
      details: { turn: 3 },
      branch,
      checkpoint: '/traces/run/checkpoint.json',
    },
  };
}

const prOpened: RunnerResult = {
  outcome: 'pr_opened',
  branch,
  prUrl: 'https://github.com/acme/web/pull/7',
  question: null,
  summary: 'Fixed',
};

/** The nth runner task of the run (1-based), once started. */
async function task(runId: string, n: number) {
  const call = await eventually(() => h.runnersOf(runId)[n - 1], `runner task ${n} of ${runId}`);
  return {
    token: call.token!,
    capacity: (call.parameters as { CapacityProviderStrategy: { CapacityProvider: string }[] }).CapacityProviderStrategy[0]!
      .CapacityProvider,
  };
}

async function queuedAgain(runId: string, count: number) {
  return eventually(async () => {
    const r = await h.db.store.runs.get(runId);
    return r?.automaticResumes?.count === count && r.status !== 'RUNNING' ? r : undefined;
  }, `automatic resume ${count} of ${runId}`);
}

describe('resuming without a human (the real state machine definition, executed offline)', () => {
  test('Given a Spot run whose runner checkpointed on SIGTERM, Then it is re-queued at once on the same branch with no inbox item, a new task restores the checkpoint, and the run ends with one PR and its costs counted once', async () => {
    const runId = await h.submit('acme/web');
    const first = await task(runId, 1);
    expect(first.capacity).toBe('FARGATE_SPOT');
    await h.runnerBegins(runId, 120_000, 'compute-task-1');
    const report = interruption();
    await h.machine.sendTaskSuccess(first.token, JSON.stringify(report));

    const resumed = await queuedAgain(runId, 1);
    expect(resumed.resume).toMatchObject({
      itemId: report.pause.itemId,
      reason: 'interrupted',
      checkpoint: report.pause.checkpoint,
      answer: INTERRUPTION_RESUME_NOTE,
      segment: 2,
    });
    expect(resumed.branch).toBe(branch);
    expect(resumed.automaticResumes).toMatchObject({ count: 1, capacityProvider: 'FARGATE_SPOT', lastKey: report.pause.itemId });
    expect(h.stoppedTasks).toContain(runId);
    expect(await h.db.store.inbox.listByRun(runId)).toEqual([]);

    const second = await task(runId, 2);
    expect(second.capacity).toBe('FARGATE_SPOT');
    await h.runnerBegins(runId, 80_000, 'compute-task-2');
    await h.machine.sendTaskSuccess(second.token, JSON.stringify(prOpened));
    const { execution, run } = await h.ended(runId);
    expect(execution.status).toBe('SUCCEEDED');
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', prUrl: prOpened.prUrl, branch, spentMicros: 200_000 });
    expect(h.runnersOf(runId)).toHaveLength(2);
    const { events } = await h.db.store.events.list(runId, { limit: 100 });
    expect(events.filter((e) => e.type === 'status' && e.detail?.to === 'QUEUED' && e.detail?.from === 'RUNNING')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ stop: 'interrupted', attempt: 1, capacityProvider: 'FARGATE_SPOT' }) }),
    ]);
    expect(events.some((e) => e.type === 'status' && e.detail?.to === 'WAITING_FOR_HUMAN')).toBe(false);
    await h.expectNothingLeaked([runId]);
  });

  test('Given a Spot run interrupted again and again, Then it resumes twice on Spot, once more on regular Fargate, and ends FAILED interrupted at the next one, nothing leaked', async () => {
    const runId = await h.submit('acme/web');
    const capacities: string[] = [];
    for (let n = 1; n <= 4; n++) {
      const t = await task(runId, n);
      capacities.push(t.capacity);
      await h.runnerBegins(runId, 10_000, `compute-task-${n}`);
      await h.machine.sendTaskSuccess(t.token, JSON.stringify(interruption()));
      if (n < 4) await queuedAgain(runId, n);
    }
    expect(capacities).toEqual(['FARGATE_SPOT', 'FARGATE_SPOT', 'FARGATE_SPOT', 'FARGATE']);
    const { run } = await h.ended(runId);
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatchObject({
      code: 'interrupted',
      message: expect.stringMatching(
        /^the runner was interrupted and the run did not resume: the task was interrupted after 3 automatic resumes .*; its work in progress is on nightshift\/run-fix$/,
      ),
    });
    expect(run.spentMicros).toBe(40_000);
    await h.expectNothingLeaked([runId]);
  });

  test('Given a run that paused and was answered, When its next task is lost without reporting, Then it resumes from that checkpoint with the same answer; a run lost with no checkpoint ends runner_lost', async () => {
    const runId = await h.submit('acme/api');
    const first = await task(runId, 1);
    expect(first.capacity).toBe('FARGATE');
    await h.runnerBegins(runId, 50_000, 'compute-task-1');
    const itemId = newRunId();
    await h.machine.sendTaskSuccess(
      first.token,
      JSON.stringify({
        pause: {
          itemId,
          reason: 'question',
          message: 'Keep digits?',
          details: { question: 'Keep digits?' },
          branch,
          checkpoint: '/traces/run/cp.json',
        },
      }),
    );
    await eventually(async () => (await h.db.store.runs.get(runId))?.status === 'WAITING_FOR_HUMAN', 'the run to wait for a human');
    await h.resolve(itemId, { action: 'answer', answer: 'Yes' });

    const second = await task(runId, 2);
    await h.runnerBegins(runId, 30_000, 'compute-task-2');
    await h.machine.sendTaskFailure(second.token, RUNNER_LOST_ERROR, 'the runner ran out of memory. ECS: OutOfMemoryError');
    const resumed = await queuedAgain(runId, 1);
    expect(resumed.resume).toMatchObject({ itemId, reason: 'question', checkpoint: '/traces/run/cp.json', answer: 'Yes', segment: 3 });
    expect(resumed.automaticResumes).toMatchObject({
      count: 1,
      capacityProvider: 'FARGATE',
      lastKey: 'lost:2',
      lastCause: 'the runner ran out of memory. ECS: OutOfMemoryError',
    });

    const third = await task(runId, 3);
    await h.runnerBegins(runId, 20_000, 'compute-task-3');
    await h.machine.sendTaskSuccess(third.token, JSON.stringify({ ...prOpened, prUrl: 'https://github.com/acme/api/pull/8' }));
    const { run } = await h.ended(runId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', spentMicros: 100_000 });
    // Only the human pause is a pause item (the lost task made none); the run's end leaves its pr_ready item.
    expect((await h.db.store.inbox.listByRun(runId)).map((i) => i.type)).toEqual(['question', 'pr_ready']);

    const never = await h.submit('acme/api');
    const lost = await task(never, 1);
    await h.runnerBegins(never, 1_000);
    await h.machine.sendTaskFailure(lost.token, RUNNER_LOST_ERROR, 'the runner exited with code 1 without reporting');
    const ended = await h.ended(never);
    expect(ended.run).toMatchObject({
      status: 'FAILED',
      error: { code: 'runner_lost', message: 'the runner exited with code 1 without reporting' },
    });
    expect(ended.run.automaticResumes ?? null).toBeNull();
    await h.expectNothingLeaked([runId, never]);
  });

  test('Given a cancel requested while the runner checkpoints, Then the interruption does not resume and the run ends CANCELLED', async () => {
    const runId = await h.submit('acme/web');
    const first = await task(runId, 1);
    await h.runnerBegins(runId, 5_000);
    await h.db.store.runs.patch(runId, { cancelRequested: true });
    await h.machine.sendTaskSuccess(first.token, JSON.stringify(interruption()));
    const { run } = await h.ended(runId);
    expect(run.status).toBe('CANCELLED');
    expect(h.runnersOf(runId)).toHaveLength(1);
    await h.expectNothingLeaked([runId]);
  });
});
