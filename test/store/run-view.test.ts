import { toRunView } from '../../core/runs/view';
import { queuedRun } from './run-fixtures';

describe('run view', () => {
  it('Given a stored run with a budget and a spend, When it is viewed, Then money is in USD, no ledger field shows, and a run without a kind is a change run', () => {
    // Given a stored run with a 2.5 USD budget that spent 0.123456 USD
    const run = queuedRun({ budgetMicros: 2_500_000, spentMicros: 123_456, settled: true, requestHash: 'abc' });
    // When it is viewed
    const view = toRunView(run);
    // Then money is in USD and no ledger field leaks
    expect(view).toMatchObject({ runId: run.runId, budgetUsd: 2.5, costUsd: 0.123456, queuePosition: 0 });
    for (const hidden of ['budgetMicros', 'spentMicros', 'ledgerDay', 'settled', 'requestHash', 'runKind'])
      expect(view).not.toHaveProperty(hidden);
    // `kind` is the run's kind (docs/api.md#requests), not the table's item type; a record without one is a change run.
    expect(view).toMatchObject({ kind: 'change', pr: null });
  });

  it('Given a stored queue position, When the run is viewed with a position computed at read time, Then that position is shown, else the stored one', () => {
    const run = queuedRun({ queuePosition: 7 });
    expect(toRunView(run, 2).queuePosition).toBe(2);
    expect(toRunView(run, null).queuePosition).toBeNull();
    expect(toRunView(run).queuePosition).toBe(7);
  });

  it('Given a run from a GitHub thread whose pull request was merged, When it is viewed, Then it shows the thread and how the pull request ended, and the status comment id stays internal', () => {
    const run = queuedRun({
      thread: 'acme/web#12',
      statusCommentId: 99,
      pullRequest: { number: 13, state: 'merged', at: '2026-12-02T10:00:00Z' },
    });
    const view = toRunView(run);
    expect(view).toMatchObject({ thread: 'acme/web#12', pullRequest: { number: 13, state: 'merged', at: '2026-12-02T10:00:00Z' } });
    expect(view).not.toHaveProperty('statusCommentId');
    expect(toRunView(queuedRun({}))).toMatchObject({ thread: null, pullRequest: null });
  });

  it('Given a run resumed twice without a human, When it is viewed, Then it shows the count, the capacity and the cause, and the resume key stays internal', () => {
    // Given a run resumed twice after Spot interruptions, now on regular Fargate
    const run = queuedRun({
      automaticResumes: { count: 2, capacityProvider: 'FARGATE', lastKey: 'ckpt-2', lastCause: 'Spot interruption (SIGTERM)' },
    });
    // When it is viewed
    const view = toRunView(run);
    // Then people see the count, the capacity and the cause, not the key that dedupes retried resumes
    expect(view.automaticResumes).toEqual({ count: 2, capacityProvider: 'FARGATE', lastCause: 'Spot interruption (SIGTERM)' });
    expect(toRunView(queuedRun({})).automaticResumes).toBeNull();
  });
});
