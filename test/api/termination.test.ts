import { reasonText, terminationFor, type RunEnding } from '../../core/runs/termination';

const result = { outcome: 'pr_opened', branch: 'nightshift/x', prUrl: 'https://github.com/a/b/pull/1', question: null, summary: 'did it' };

describe('terminationFor', () => {
  const cases: [string, RunEnding, boolean, string, string][] = [
    ['runner success', { kind: 'runner_succeeded', output: result }, false, 'SUCCEEDED', 'pr_opened'],
    ['runner success as JSON text', { kind: 'runner_succeeded', output: JSON.stringify(result) }, false, 'SUCCEEDED', 'pr_opened'],
    ['success wins over a late cancel', { kind: 'runner_succeeded', output: result }, true, 'SUCCEEDED', 'pr_opened'],
    [
      'a result that is not a RunnerResult',
      { kind: 'runner_succeeded', output: { outcome: 'merged' } },
      false,
      'FAILED',
      'invalid_runner_result',
    ],
    ['garbage output', { kind: 'runner_succeeded', output: 'not json' }, false, 'FAILED', 'invalid_runner_result'],
    [
      'budget exceeded',
      { kind: 'runner_failed', error: 'Nightshift.BudgetExceeded', cause: 'spent 2.00' },
      false,
      'BUDGET_EXCEEDED',
      'budget_exceeded',
    ],
    [
      'budget exceeded with a cancel pending',
      { kind: 'runner_failed', error: 'Nightshift.BudgetExceeded' },
      true,
      'BUDGET_EXCEEDED',
      'budget_exceeded',
    ],
    ['runner cancelled', { kind: 'runner_failed', error: 'Nightshift.Cancelled' }, false, 'CANCELLED', 'cancelled'],
    ['interrupted after a cancel request', { kind: 'runner_failed', error: 'Nightshift.Interrupted' }, true, 'CANCELLED', 'cancelled'],
    ['interrupted without one', { kind: 'runner_failed', error: 'Nightshift.Interrupted' }, false, 'FAILED', 'interrupted'],
    ['wall clock', { kind: 'runner_failed', error: 'States.Timeout' }, false, 'TIMED_OUT', 'timed_out'],
    ['heartbeat lost', { kind: 'runner_failed', error: 'States.HeartbeatTimeout' }, false, 'FAILED', 'no_progress'],
    ['run failed', { kind: 'runner_failed', error: 'Nightshift.RunFailed', cause: 'tests broke' }, false, 'FAILED', 'run_failed'],
    [
      'task failed to launch',
      { kind: 'runner_failed', error: 'States.TaskFailed', cause: 'CannotPullContainerError' },
      false,
      'FAILED',
      'runner_error',
    ],
    ['execution aborted after cancel', { kind: 'execution_ended', executionStatus: 'ABORTED' }, true, 'CANCELLED', 'cancelled'],
    ['execution stopped from the console', { kind: 'execution_ended', executionStatus: 'ABORTED' }, false, 'CANCELLED', 'cancelled'],
    ['execution timed out', { kind: 'execution_ended', executionStatus: 'TIMED_OUT' }, false, 'TIMED_OUT', 'timed_out'],
    [
      'execution failed with a heartbeat loss',
      { kind: 'execution_ended', executionStatus: 'FAILED', error: 'States.HeartbeatTimeout' },
      false,
      'FAILED',
      'no_progress',
    ],
    ['execution failed without detail', { kind: 'execution_ended', executionStatus: 'FAILED' }, false, 'FAILED', 'execution_failed'],
  ];

  it.each(cases)(
    'Given a run ending (%s), When it is mapped, Then the run gets its status and reason code, with a reason message',
    (_name, ending, cancelRequested, status, code) => {
      // Given how the run ended, When mapped, Then it gets this status and reason code
      const termination = terminationFor(ending, { cancelRequested });
      expect(termination.status).toBe(status);
      expect(termination.reason.code).toBe(code);
      expect(termination.reason.message.length).toBeGreaterThan(0);
    },
  );

  it('Given a wall clock or heartbeat loss, When mapped, Then the reason speaks of max minutes and heartbeats in minutes, never TimeoutSeconds', () => {
    const clocks = { cancelRequested: false, maxMinutes: 30, noProgressMinutes: 10 };
    const timedOut = terminationFor(
      { kind: 'runner_failed', error: 'States.Timeout', cause: 'the task did not finish within TimeoutSeconds' },
      clocks,
    );
    expect(timedOut.reason.message).toMatch(/^the run reached its max minutes \(30 minutes\)/);
    const stalled = terminationFor(
      { kind: 'runner_failed', error: 'States.HeartbeatTimeout', cause: 'no heartbeat within HeartbeatSeconds' },
      clocks,
    );
    expect(stalled.reason.message).toMatch(/^no heartbeat for 10 minutes \(timeouts\.noProgressMinutes\)/);
    const execution = terminationFor({ kind: 'execution_ended', executionStatus: 'TIMED_OUT' }, { cancelRequested: false, maxMinutes: 1 });
    expect(execution.reason.message).toMatch(/max minutes \(1 minute\)/);
    for (const t of [timedOut, stalled, execution]) expect(t.reason.message).not.toMatch(/TimeoutSeconds|HeartbeatSeconds|States\./);
  });

  it('Given a runner success, When it is mapped, Then it carries the parsed result; When the run stopped to ask, Then its question is the reason', () => {
    expect(terminationFor({ kind: 'runner_succeeded', output: result }, { cancelRequested: false }).result).toEqual(result);
    const asked = terminationFor(
      { kind: 'runner_succeeded', output: { ...result, outcome: 'question', question: 'Which API version?', prUrl: null } },
      { cancelRequested: false },
    );
    expect(asked).toMatchObject({ status: 'SUCCEEDED', reason: { code: 'question', message: 'Which API version?' } });
  });
});

describe('reasonText', () => {
  it('Given a cause with line breaks, invisible characters, a lone surrogate, nothing or 5000 characters, When it is made a reason, Then it is one short line, free of invisible characters, or the fallback', () => {
    expect(reasonText('a\nb\u202Ec\u0000d', 'x')).toBe('a b c d');
    expect(reasonText('\ud800 lone', 'x')).toBe('\ufffd lone');
    expect(reasonText('   ', 'fallback')).toBe('fallback');
    expect(reasonText(null, 'fallback')).toBe('fallback');
    const long = reasonText('y'.repeat(5_000), 'x');
    expect(long.length).toBe(1_000);
    expect(long.endsWith('…')).toBe(true);
  });
});
