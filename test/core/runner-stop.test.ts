import {
  automaticResumeFor,
  endLostRunner,
  MAX_AUTOMATIC_RESUMES,
  runnerStopOutcome,
  type AutomaticResumeFacts,
  type RunnerStopFacts,
} from '../../core/runs/runner-stop';
import { terminationFor } from '../../core/runs/termination';

const facts = (over: Partial<RunnerStopFacts>): RunnerStopFacts => ({
  stopCode: 'EssentialContainerExited',
  stoppedReason: 'Essential container in task exited',
  exitCode: 1,
  containerReason: null,
  lastErrorLines: [],
  ...over,
});
const causeOf = (f: RunnerStopFacts) => {
  const outcome = runnerStopOutcome(f);
  if (outcome.action !== 'fail') throw new Error(`expected a failure, got ${outcome.action}`);
  return outcome.cause;
};

describe('what a stopped runner means for its run', () => {
  test('Given a runner that exited 0, Then nothing is done: it reported before it exited', () => {
    expect(runnerStopOutcome(facts({ exitCode: 0 }))).toMatchObject({ action: 'none' });
  });

  test.each<[string, Partial<RunnerStopFacts>, string]>([
    [
      'an image pull failure',
      {
        stopCode: 'TaskFailedToStart',
        stoppedReason: 'CannotPullContainerError: ref not found',
        exitCode: null,
        containerReason: 'CannotPullContainerError: ref not found',
      },
      'the runner task could not start. ECS: CannotPullContainerError: ref not found',
    ],
    [
      'an ENI or secret that could not be set up',
      { stopCode: 'TaskFailedToStart', stoppedReason: 'ResourceInitializationError: unable to pull secrets', exitCode: null },
      'the runner task could not start. ECS: ResourceInitializationError: unable to pull secrets',
    ],
    [
      'an out-of-memory kill',
      { exitCode: 137, containerReason: 'OutOfMemoryError: Container killed due to memory usage' },
      'the runner ran out of memory. ECS: Essential container in task exited; OutOfMemoryError: Container killed due to memory usage',
    ],
    [
      'a SIGKILL without a reason',
      { exitCode: 137 },
      'the runner exited with code 137 (killed with SIGKILL, most often for running out of memory) without reporting. ECS: Essential container in task exited',
    ],
    ['a crash', { exitCode: 1 }, 'the runner exited with code 1 without reporting. ECS: Essential container in task exited'],
    [
      'a Spot reclaim',
      { stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.', exitCode: 143 },
      'the runner lost its Fargate Spot capacity before it could report. ECS: Your Spot Task was interrupted.',
    ],
    [
      'a local process killed by a signal, with its last lines',
      {
        stopCode: null,
        stoppedReason: null,
        exitCode: null,
        containerReason: 'signal SIGKILL',
        lastErrorLines: ['Error: boom', '    at main'],
      },
      'the runner was ended by signal SIGKILL without reporting. last error lines: Error: boom |     at main',
    ],
  ])('Given %s, Then the run fails with the reason in words', (_what, over, cause) => {
    expect(causeOf(facts(over))).toBe(cause);
  });

  test("Given a long cause, When the lost runner's run ends, Then it ends FAILED runner_lost with that cause, flattened and bounded (CANCELLED if a cancel was requested)", () => {
    const cause = causeOf(facts({ lastErrorLines: ['x'.repeat(2_000)] }));
    expect(cause.length).toBeLessThanOrEqual(1_000);
    expect(terminationFor({ kind: 'runner_failed', error: 'Nightshift.RunnerLost', cause }, { cancelRequested: false })).toMatchObject({
      status: 'FAILED',
      reason: { code: 'runner_lost', message: cause },
    });
    // A cancel explains whatever follows it.
    expect(terminationFor({ kind: 'runner_failed', error: 'Nightshift.RunnerLost', cause }, { cancelRequested: true }).status).toBe(
      'CANCELLED',
    );
  });

  test('Given a task that already ended, Then failing it is a no-op; other errors are thrown', async () => {
    const ended = Object.assign(new Error('the task of this token already ended'), { name: 'TaskTimedOut' });
    await expect(endLostRunner(facts({}), 'tok', async () => Promise.reject(ended))).resolves.toMatchObject({ action: 'already_ended' });
    await expect(
      endLostRunner(facts({}), 'tok', async () => Promise.reject(Object.assign(new Error('x'), { name: 'ThrottlingException' }))),
    ).rejects.toThrow('x');
    await expect(
      endLostRunner(facts({ exitCode: 0 }), 'tok', async () => Promise.reject(new Error('never called'))),
    ).resolves.toMatchObject({ action: 'none' });
  });
});

describe('which stopped tasks resume without a human, and on which capacity', () => {
  const stopped = (over: Partial<AutomaticResumeFacts>): AutomaticResumeFacts => ({
    stop: 'interrupted',
    hasCheckpoint: true,
    cancelRequested: false,
    resumes: 0,
    capacityProvider: 'FARGATE_SPOT',
    ...over,
  });

  test('Given a Spot interruption the runner checkpointed, Then the run resumes at once on Spot, the first and the second time', () => {
    expect(automaticResumeFor(stopped({}))).toEqual({
      action: 'resume',
      capacityProvider: 'FARGATE_SPOT',
      attempt: 1,
      why: expect.stringContaining('1 of 2'),
    });
    expect(automaticResumeFor(stopped({ resumes: 1 }))).toMatchObject({ action: 'resume', capacityProvider: 'FARGATE_SPOT', attempt: 2 });
  });

  test('Given a Spot run resumed twice already, When it is interrupted again, Then it resumes once more on regular Fargate, and a loss after that ends it', () => {
    expect(MAX_AUTOMATIC_RESUMES).toBe(2);
    expect(automaticResumeFor(stopped({ resumes: 2 }))).toMatchObject({
      action: 'resume',
      capacityProvider: 'FARGATE',
      attempt: 3,
      why: expect.stringContaining('regular Fargate'),
    });
    expect(automaticResumeFor(stopped({ resumes: 3, capacityProvider: 'FARGATE' }))).toMatchObject({
      action: 'end',
      why: expect.stringContaining('after 3 automatic resumes'),
    });
  });

  test('Given a run on regular Fargate, Then it resumes on regular Fargate at most twice', () => {
    expect(automaticResumeFor(stopped({ capacityProvider: 'FARGATE', resumes: 1 }))).toMatchObject({
      action: 'resume',
      capacityProvider: 'FARGATE',
      attempt: 2,
    });
    expect(automaticResumeFor(stopped({ capacityProvider: 'FARGATE', resumes: 2 }))).toMatchObject({ action: 'end' });
  });

  test('Given a task lost after a checkpoint, Then it resumes from it like an interruption; lost without one, or with a cancel requested, it ends', () => {
    expect(automaticResumeFor(stopped({ stop: 'lost' }))).toMatchObject({
      action: 'resume',
      why: expect.stringContaining('lost after a checkpoint'),
    });
    expect(automaticResumeFor(stopped({ stop: 'lost', hasCheckpoint: false }))).toEqual({
      action: 'end',
      why: 'the task left no checkpoint to resume from',
    });
    expect(automaticResumeFor(stopped({ cancelRequested: true }))).toEqual({ action: 'end', why: 'a cancel was requested' });
  });
});
