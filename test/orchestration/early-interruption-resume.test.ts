import { RunnerPause } from '../../core/inbox/pause-report';
import { resumeWithoutHuman } from '../../core/runs/automatic-resume';
import { newRunId } from '../../core/runs/run-id';
import { submitRun } from '../../core/runs/submit';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * An interruption before the agent loop (docs/inbox.md#resume-without-a-human): the runner reports an
 * `interrupted` pause with no checkpoint, and the run is re-queued to start its task over: from the
 * start for a first task (no branch kept: none was pushed), from the checkpoint it was resuming from,
 * with the same answer, for a resumed one.
 */
let db: DynaliteHarness;
const config = testConfig(stackFixture);
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

const deps = () => ({ ...db.store, stopRunTasks: async () => undefined, now: () => new Date('2030-01-01T00:00:00.000Z') });

async function runningRun(): Promise<string> {
  const { runId } = await submitRun(
    { config, ...db.store, stopRunTasks: async () => undefined, startExecution: async () => undefined },
    { request: { repo: 'acme/web', prompt: 'Tidy the README' }, requester: 'carol', source: 'cli' },
  );
  await db.store.runs.transition(runId, 'STARTING');
  await db.store.runs.transition(runId, 'RUNNING');
  return runId;
}

const earlyReport = (branch: string | null) =>
  RunnerPause.parse({
    pause: {
      itemId: newRunId(),
      reason: 'interrupted',
      message: 'the runner task was interrupted (SIGTERM) before its agent loop started',
      details: { beforeLoop: true },
      branch,
      checkpoint: null,
    },
  });

test('Given a first task interrupted in its setup, When it resumes without a human, Then the run is QUEUED with nothing to restore, on segment 2, with no branch', async () => {
  const runId = await runningRun();
  await db.store.runs.patch(runId, { branch: `nightshift/${runId}-tidy` });
  const report = earlyReport(null);
  const out = await resumeWithoutHuman(deps(), { runId, capacityProvider: 'FARGATE_SPOT', result: report });
  expect(out).toEqual({ runId, capacityProvider: 'FARGATE_SPOT', attempt: 1 });
  const run = (await db.store.runs.get(runId))!;
  expect(run).toMatchObject({
    status: 'QUEUED',
    branch: null,
    resume: { itemId: report.pause.itemId, reason: 'interrupted', checkpoint: null, answer: null, segment: 2 },
    automaticResumes: { count: 1, capacityProvider: 'FARGATE_SPOT' },
  });
  // A retried task changes nothing twice.
  expect(await resumeWithoutHuman(deps(), { runId, capacityProvider: 'FARGATE_SPOT', result: report })).toEqual(out);
});

test('Given a resumed task interrupted before its loop, When it resumes without a human, Then it goes on from the same checkpoint with the same answer, on its branch, on the next segment', async () => {
  const runId = await runningRun();
  const branch = `nightshift/${runId}-tidy`;
  const answered = {
    itemId: newRunId(),
    reason: 'question' as const,
    checkpoint: `s3://traces/runs/${runId}/checkpoint-x.json`,
    answer: 'Yes, keep digits.',
    action: 'answer' as const,
    answeredAt: '2029-12-31T00:00:00.000Z',
    segment: 2,
  };
  await db.store.runs.patch(runId, { branch, resume: answered });
  await resumeWithoutHuman(deps(), { runId, capacityProvider: 'FARGATE', result: earlyReport(branch) });
  expect((await db.store.runs.get(runId))!).toMatchObject({
    status: 'QUEUED',
    branch,
    resume: { ...answered, answeredAt: '2030-01-01T00:00:00.000Z', segment: 3 },
  });
});

test("Given a runner pause report, When it is parsed, Then a report with no checkpoint is accepted only as an interruption's, and a checkpoint without a branch is refused", () => {
  const pause = { itemId: newRunId(), message: 'm', details: {}, branch: 'b', checkpoint: null };
  expect(RunnerPause.safeParse({ pause: { ...pause, reason: 'question' } }).success).toBe(false);
  expect(RunnerPause.safeParse({ pause: { ...pause, reason: 'interrupted', branch: null, checkpoint: 'c' } }).success).toBe(false);
  expect(RunnerPause.safeParse({ pause: { ...pause, reason: 'interrupted' } }).success).toBe(true);
});
