import { BUDGET_DECLINED_ERROR, PLAN_REJECTED_ERROR } from '../../core/inbox/pause-resolution';
import {
  type FinalizedRun,
  type FinalizePath,
  type RunEnding,
  reasonText,
  type Termination,
  terminationFor,
  terminationOf,
} from '../../core/runs/termination';

// Every reason a run can end with, word for word: the status and message are what the requester reads
// (docs/api.md), so each path and each fallback is pinned exactly (issue 18 item 9, mutation testing).

const result = {
  outcome: 'pr_opened',
  branch: 'nightshift/x',
  prUrl: 'https://github.com/a/b/pull/1',
  question: null,
  summary: 'did it',
} as const;
const noClocks = { cancelRequested: false };
const timedOutNoClock =
  'the run reached its max minutes before it finished; submit it again with a larger --max-minutes (at most timeouts.maxMinutes)';
const noProgressNoClock =
  'no heartbeat for timeouts.noProgressMinutes: the agent finished no model turn or tool call in that time (a hung command, or a runner that stopped)';

describe('terminationFor, word for word', () => {
  const cases: [string, RunEnding, boolean, Termination][] = [
    [
      'a summary that is blank falls back to the outcome',
      { kind: 'runner_succeeded', output: { ...result, summary: '  ' } },
      false,
      { status: 'SUCCEEDED', reason: { code: 'pr_opened', message: 'pr_opened' }, result: { ...result, summary: '  ' } },
    ],
    [
      'a question left blank',
      { kind: 'runner_succeeded', output: { ...result, outcome: 'question', question: null } },
      false,
      {
        status: 'SUCCEEDED',
        reason: { code: 'question', message: 'the agent stopped to ask a question' },
        result: { ...result, outcome: 'question', question: null },
      },
    ],
    [
      'budget exceeded with its cause',
      { kind: 'runner_failed', error: 'Nightshift.BudgetExceeded', cause: 'spent 2.00' },
      false,
      { status: 'BUDGET_EXCEEDED', reason: { code: 'budget_exceeded', message: 'spent 2.00' } },
    ],
    [
      'budget exceeded without a cause',
      { kind: 'runner_failed', error: 'Nightshift.BudgetExceeded' },
      false,
      { status: 'BUDGET_EXCEEDED', reason: { code: 'budget_exceeded', message: 'the run used its whole budget' } },
    ],
    [
      'cancelled without a cause',
      { kind: 'runner_failed', error: 'Nightshift.Cancelled' },
      false,
      { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled' } },
    ],
    [
      'a failure after a cancel request keeps its cause',
      { kind: 'runner_failed', error: 'Nightshift.RunFailed', cause: 'the task was stopped' },
      true,
      { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the task was stopped' } },
    ],
    [
      'wall clock with no clocks known',
      { kind: 'runner_failed', error: 'States.Timeout' },
      false,
      { status: 'TIMED_OUT', reason: { code: 'timed_out', message: timedOutNoClock } },
    ],
    [
      'heartbeat with no clocks known',
      { kind: 'runner_failed', error: 'States.HeartbeatTimeout' },
      false,
      { status: 'FAILED', reason: { code: 'no_progress', message: noProgressNoClock } },
    ],
    [
      'interrupted with its cause',
      { kind: 'runner_failed', error: 'Nightshift.Interrupted', cause: 'spot reclaimed' },
      false,
      { status: 'FAILED', reason: { code: 'interrupted', message: 'spot reclaimed' } },
    ],
    [
      'interrupted without a cause',
      { kind: 'runner_failed', error: 'Nightshift.Interrupted' },
      false,
      { status: 'FAILED', reason: { code: 'interrupted', message: 'the runner was interrupted' } },
    ],
    [
      'run failed without a cause',
      { kind: 'runner_failed', error: 'Nightshift.RunFailed' },
      false,
      { status: 'FAILED', reason: { code: 'run_failed', message: 'the run failed' } },
    ],
    [
      'runner lost with its cause',
      { kind: 'runner_failed', error: 'Nightshift.RunnerLost', cause: 'the task stopped: OutOfMemoryError' },
      false,
      { status: 'FAILED', reason: { code: 'runner_lost', message: 'the task stopped: OutOfMemoryError' } },
    ],
    [
      'runner lost without a cause',
      { kind: 'runner_failed', error: 'Nightshift.RunnerLost' },
      false,
      { status: 'FAILED', reason: { code: 'runner_lost', message: 'the runner stopped without reporting' } },
    ],
    [
      'another error with its cause',
      { kind: 'runner_failed', error: 'States.TaskFailed', cause: 'CannotPullContainerError' },
      false,
      { status: 'FAILED', reason: { code: 'runner_error', message: 'States.TaskFailed: CannotPullContainerError' } },
    ],
    [
      'another error with an empty cause',
      { kind: 'runner_failed', error: 'States.TaskFailed', cause: '' },
      false,
      { status: 'FAILED', reason: { code: 'runner_error', message: 'States.TaskFailed' } },
    ],
    [
      'an error with no name and no cause',
      { kind: 'runner_failed', error: ' ', cause: null },
      false,
      { status: 'FAILED', reason: { code: 'runner_error', message: 'the run failed' } },
    ],
    [
      'an execution that failed after a cancel request',
      { kind: 'execution_ended', executionStatus: 'FAILED', error: 'States.TaskFailed' },
      true,
      { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled' } },
    ],
    [
      'an execution stopped from the console',
      { kind: 'execution_ended', executionStatus: 'ABORTED' },
      false,
      { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the execution was stopped outside Nightshift' } },
    ],
    [
      'an execution that timed out',
      { kind: 'execution_ended', executionStatus: 'TIMED_OUT' },
      false,
      { status: 'TIMED_OUT', reason: { code: 'timed_out', message: timedOutNoClock } },
    ],
    [
      'an execution that failed with a runner error is not taken for a cancel',
      { kind: 'execution_ended', executionStatus: 'FAILED', error: 'Nightshift.RunFailed', cause: 'tests broke' },
      false,
      { status: 'FAILED', reason: { code: 'run_failed', message: 'tests broke' } },
    ],
    [
      'an execution that failed with only a cause',
      { kind: 'execution_ended', executionStatus: 'FAILED', cause: 'Lambda throttled' },
      false,
      { status: 'FAILED', reason: { code: 'execution_failed', message: 'Lambda throttled' } },
    ],
    [
      'an execution that failed without detail',
      { kind: 'execution_ended', executionStatus: 'FAILED' },
      false,
      { status: 'FAILED', reason: { code: 'execution_failed', message: 'the execution failed' } },
    ],
  ];

  it.each(cases)('Given %s, When mapped, Then the status and reason are exactly these', (_name, ending, cancelRequested, expected) => {
    expect(terminationFor(ending, { cancelRequested })).toEqual(expected);
  });

  it('Given clocks of one minute, When a timeout is mapped, Then the minute is singular in both reasons', () => {
    const clocks = { cancelRequested: false, maxMinutes: 1, noProgressMinutes: 1 };
    expect(terminationFor({ kind: 'runner_failed', error: 'States.Timeout' }, clocks).reason.message).toBe(
      'the run reached its max minutes (1 minute) before it finished; submit it again with a larger --max-minutes (at most timeouts.maxMinutes)',
    );
    expect(terminationFor({ kind: 'runner_failed', error: 'States.HeartbeatTimeout' }, clocks).reason.message).toBe(
      'no heartbeat for 1 minute (timeouts.noProgressMinutes): the agent finished no model turn or tool call in that time (a hung command, or a runner that stopped)',
    );
  });

  it('Given output that is not JSON text, When mapped, Then the reason says the runner sent a string, in at most 300 characters of detail', () => {
    const garbage = terminationFor({ kind: 'runner_succeeded', output: 'not json' }, noClocks);
    expect(garbage).toEqual({
      status: 'FAILED',
      reason: {
        code: 'invalid_runner_result',
        message: 'the runner reported a result that is not a RunnerResult: ✖ Invalid input: expected object, received string',
      },
    });
    const prefix = 'the runner reported a result that is not a RunnerResult: ';
    const wrong = terminationFor(
      { kind: 'runner_succeeded', output: { outcome: 'merged', branch: 1, prUrl: 2, question: 3, summary: 4, extra: 5, more: 6 } },
      noClocks,
    );
    expect(wrong.reason.message.startsWith(prefix)).toBe(true);
    expect(wrong.reason.message.length).toBe(prefix.length + 300);
  });

  it('Given output that is not a string, When mapped, Then it is never read as JSON text (an array holding a result text is not a result)', () => {
    const ending: RunEnding = { kind: 'runner_succeeded', output: [JSON.stringify(result)] };
    expect(terminationFor(ending, noClocks)).toMatchObject({ status: 'FAILED', reason: { code: 'invalid_runner_result' } });
  });
});

describe('reasonText, at its edges', () => {
  it('Given each end of every stripped range, When cleaned, Then each run of them is one space', () => {
    const stripped = ['\u0000', '\u001F', '\u007F', '\u009F', '\u200B', '\u200F', '\u202A', '\u202E', '\u2060', '\u2069', '\uFEFF'];
    for (const c of stripped) expect(reasonText(`a${c}b`, 'x')).toBe('a b');
    expect(reasonText(`a${stripped.join('')}b`, 'x')).toBe('a b');
  });

  it('Given characters just outside the stripped ranges, When cleaned, Then they are kept', () => {
    const kept = ['!', '~', '\u00A0', '\u200A', '\u2010', '\u2029', '\u202F', '\u205F', '\u206A', '\uFEFE', '\uFF00', '😀'];
    for (const c of kept) expect(reasonText(`a${c}b`, 'x')).toBe(`a${c}b`);
  });

  it('Given a cause of exactly 1000 characters, When cleaned, Then it is kept whole; one more and it ends in an ellipsis', () => {
    expect(reasonText('y'.repeat(1_000), 'x')).toBe('y'.repeat(1_000));
    expect(reasonText('y'.repeat(1_001), 'x')).toBe(`${'y'.repeat(999)}…`);
    expect(reasonText('  padded  ', 'x')).toBe('padded');
  });
});

const run = (over: Partial<FinalizedRun> = {}): FinalizedRun => ({
  runId: 'r1',
  status: 'RUNNING',
  error: null,
  branch: null,
  cancelRequested: false,
  ...over,
});
const path = (over: Partial<FinalizePath> = {}): FinalizePath => ({ timeoutSeconds: 1_790, heartbeatSeconds: 610, ...over });
const wip = '; its work in progress is on nightshift/r1';

describe('terminationOf: how the path that reached Finalize ended the run', () => {
  it("Given a runner failure, When Finalize decides, Then the execution's clocks are named in whole minutes", () => {
    expect(terminationOf(path({ failure: { Error: 'States.Timeout' } }), run()).reason.message).toMatch(
      /^the run reached its max minutes \(30 minutes\) /,
    );
    expect(terminationOf(path({ failure: { Error: 'States.HeartbeatTimeout' } }), run()).reason.message).toMatch(
      /^no heartbeat for 10 minutes \(/,
    );
  });

  it('Given a runner failure without a cause, When the run had asked to cancel, Then it ends cancelled; without a request, as the failure says', () => {
    expect(terminationOf(path({ failure: { Error: 'Nightshift.RunFailed' } }), run({ cancelRequested: true }))).toEqual({
      status: 'CANCELLED',
      reason: { code: 'cancelled', message: 'the run was cancelled' },
    });
    expect(terminationOf(path({ failure: { Error: 'Nightshift.RunFailed', Cause: 'lint failed' } }), run())).toEqual({
      status: 'FAILED',
      reason: { code: 'run_failed', message: 'lint failed' },
    });
  });

  it("Given the runner's result, When Finalize decides, Then the run succeeded with it; a null result is not a result", () => {
    expect(terminationOf(path({ result }), run())).toEqual({
      status: 'SUCCEEDED',
      reason: { code: 'pr_opened', message: 'did it' },
      result,
    });
    expect(terminationOf(path({ result: null }), run())).toMatchObject({ status: 'FAILED', reason: { code: 'invalid_runner_result' } });
  });

  describe('a wait for a human that ended without an answer', () => {
    const cases: [string, FinalizePath['pauseFailure'], Partial<FinalizedRun>, Termination][] = [
      [
        'a run already terminal keeps its status and reason',
        { Error: 'States.Timeout' },
        { status: 'CANCELLED', error: { code: 'cancelled', message: 'by alice' }, cancelRequested: true },
        { status: 'CANCELLED', reason: { code: 'cancelled', message: 'by alice' } },
      ],
      [
        'a run already terminal without a reason',
        { Error: 'States.Timeout' },
        { status: 'FAILED' },
        { status: 'FAILED', reason: { code: 'ended', message: 'the run had already ended' } },
      ],
      [
        'a cancel requested while it waited',
        { Error: BUDGET_DECLINED_ERROR },
        { status: 'WAITING_FOR_HUMAN', cancelRequested: true },
        { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled while it waited for a human' } },
      ],
      [
        'more budget declined, with a branch',
        { Error: BUDGET_DECLINED_ERROR },
        { status: 'WAITING_FOR_HUMAN', branch: 'nightshift/r1' },
        { status: 'BUDGET_EXCEEDED', reason: { code: 'budget_declined', message: `the requester declined more budget${wip}` } },
      ],
      [
        'more budget declined, no branch yet',
        { Error: BUDGET_DECLINED_ERROR },
        { status: 'WAITING_FOR_HUMAN' },
        { status: 'BUDGET_EXCEEDED', reason: { code: 'budget_declined', message: 'the requester declined more budget' } },
      ],
      [
        'the plan rejected',
        { Error: PLAN_REJECTED_ERROR },
        { status: 'WAITING_FOR_HUMAN', branch: 'nightshift/r1' },
        { status: 'CANCELLED', reason: { code: 'plan_rejected', message: 'the requester rejected the plan; nothing was changed' } },
      ],
      [
        'nobody answered, with a branch',
        { Error: 'States.Timeout' },
        { status: 'WAITING_FOR_HUMAN', branch: 'nightshift/r1' },
        { status: 'TIMED_OUT', reason: { code: 'no_answer', message: `nobody answered within timeouts.answerHours${wip}` } },
      ],
      [
        'nobody answered, no branch',
        { Error: 'States.Timeout' },
        { status: 'WAITING_FOR_HUMAN' },
        { status: 'TIMED_OUT', reason: { code: 'no_answer', message: 'nobody answered within timeouts.answerHours' } },
      ],
      [
        'the pause task refused, with a cause',
        { Error: 'States.TaskFailed', Cause: 'token store down' },
        { status: 'RUNNING' },
        { status: 'FAILED', reason: { code: 'pause_failed', message: 'States.TaskFailed: token store down' } },
      ],
      [
        'the pause task refused, without a cause',
        { Error: 'States.TaskFailed', Cause: null },
        { status: 'RUNNING' },
        { status: 'FAILED', reason: { code: 'pause_failed', message: 'States.TaskFailed' } },
      ],
      [
        'the pause task refused with no name',
        { Error: '' },
        { status: 'RUNNING' },
        { status: 'FAILED', reason: { code: 'pause_failed', message: 'the run could not pause' } },
      ],
    ];
    it.each(cases)('Given %s, When Finalize decides, Then this is how it ends', (_name, pauseFailure, over, expected) => {
      // A pause failure comes first, whatever else the path carries.
      expect(terminationOf(path({ pauseFailure, result, failure: { Error: 'Nightshift.RunFailed' } }), run(over))).toEqual(expected);
    });
  });

  describe('an interruption the run did not resume from', () => {
    const cases: [string, FinalizePath['resumeFailure'], Partial<FinalizedRun>, Termination][] = [
      [
        'a run already terminal',
        { Error: 'Nightshift.NotResumed' },
        { status: 'TIMED_OUT', error: { code: 'timed_out', message: 'clock' } },
        { status: 'TIMED_OUT', reason: { code: 'timed_out', message: 'clock' } },
      ],
      [
        'a cancel requested',
        { Error: 'Nightshift.NotResumed', Cause: 'run r1 does not resume: no checkpoint' },
        { cancelRequested: true },
        { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled' } },
      ],
      [
        'not resumed, with why and a branch',
        { Error: 'Nightshift.NotResumed', Cause: 'run r1 does not resume: its attempts are spent' },
        { branch: 'nightshift/r1' },
        {
          status: 'FAILED',
          reason: { code: 'interrupted', message: `the runner was interrupted and the run did not resume: its attempts are spent${wip}` },
        },
      ],
      [
        'not resumed, why not in the usual words',
        { Error: 'Nightshift.NotResumed', Cause: 'the repo is archived' },
        {},
        {
          status: 'FAILED',
          reason: { code: 'interrupted', message: 'the runner was interrupted and the run did not resume: the repo is archived' },
        },
      ],
      [
        'not resumed, the usual words only at the start are cut',
        { Error: 'Nightshift.NotResumed', Cause: 'retried: run r1 does not resume: no checkpoint' },
        {},
        {
          status: 'FAILED',
          reason: {
            code: 'interrupted',
            message: 'the runner was interrupted and the run did not resume: retried: run r1 does not resume: no checkpoint',
          },
        },
      ],
      [
        'not resumed, without a cause',
        { Error: 'Nightshift.NotResumed' },
        {},
        {
          status: 'FAILED',
          reason: { code: 'interrupted', message: 'the runner was interrupted and the run did not resume: Nightshift.NotResumed' },
        },
      ],
      [
        'the resume step itself failed',
        { Error: 'States.TaskFailed', Cause: 'run r1 does not resume: kept' },
        {},
        {
          status: 'FAILED',
          reason: {
            code: 'interrupted',
            message: 'the runner was interrupted and the run did not resume: States.TaskFailed: run r1 does not resume: kept',
          },
        },
      ],
    ];
    it.each(cases)('Given %s, When Finalize decides, Then this is how it ends', (_name, resumeFailure, over, expected) => {
      expect(terminationOf(path({ resumeFailure }), run(over))).toEqual(expected);
    });

    it('Given a lost task that did not resume, When Finalize decides, Then it ends as lost (its failure), not as interrupted', () => {
      const ending = terminationOf(
        path({ resumeFailure: { Error: 'Nightshift.NotResumed' }, failure: { Error: 'Nightshift.RunnerLost', Cause: 'exit 137' } }),
        run(),
      );
      expect(ending).toEqual({ status: 'FAILED', reason: { code: 'runner_lost', message: 'exit 137' } });
    });
  });

  describe('admission', () => {
    it('Given the admission step failed, When Finalize decides, Then it failed with the error, or was cancelled when a cancel was requested', () => {
      expect(
        terminationOf(path({ admissionFailure: { Error: 'States.TaskFailed', Cause: 'slots table gone' } }), run({ status: 'QUEUED' })),
      ).toEqual({ status: 'FAILED', reason: { code: 'admission_failed', message: 'States.TaskFailed: slots table gone' } });
      expect(terminationOf(path({ admissionFailure: { Error: ' ' } }), run({ status: 'QUEUED' }))).toEqual({
        status: 'FAILED',
        reason: { code: 'admission_failed', message: 'admission failed' },
      });
      expect(
        terminationOf(
          path({ admissionFailure: { Error: 'States.TaskFailed' }, admission: { decision: 'expired' } }),
          run({ status: 'QUEUED', cancelRequested: true }),
        ),
      ).toEqual({ status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled' } });
    });

    it('Given what admission decided, When Finalize decides, Then a cancel, an expiry and an ended run each end as they should', () => {
      expect(terminationOf(path({ admission: { decision: 'cancelled' } }), run({ status: 'QUEUED' }))).toEqual({
        status: 'CANCELLED',
        reason: { code: 'cancelled', message: 'the run was cancelled before it started' },
      });
      expect(terminationOf(path({ admission: { decision: 'expired' } }), run({ status: 'QUEUED' }))).toEqual({
        status: 'TIMED_OUT',
        reason: { code: 'queue_timeout', message: 'the run waited too long for a concurrency slot' },
      });
      expect(
        terminationOf(
          path({ admission: { decision: 'ended' } }),
          run({ status: 'CANCELLED', error: { code: 'cancelled', message: 'by bob' } }),
        ),
      ).toEqual({ status: 'CANCELLED', reason: { code: 'cancelled', message: 'by bob' } });
    });

    it('Given a path with no outcome, When Finalize decides, Then it refuses and names the run and the decision', () => {
      expect(() => terminationOf(path({ admission: { decision: 'ended' } }), run({ status: 'RUNNING' }))).toThrow(
        'Finalize reached for run r1 without an outcome (admission ended)',
      );
      expect(() => terminationOf(path({ admission: { decision: 'admitted' } }), run())).toThrow(
        'Finalize reached for run r1 without an outcome (admission admitted)',
      );
      expect(() => terminationOf(path(), run())).toThrow('Finalize reached for run r1 without an outcome (admission none)');
    });
  });
});
