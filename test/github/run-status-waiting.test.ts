import { reportRunProgress } from '../../core/github/run-status-report';
import { resumedComment, waitingComment } from '../../core/github/run-status';
import { pauseRun } from '../../core/runs/pause';
import { newRunId } from '../../core/runs/run-id';
import type { PauseReason } from '../../core/inbox/pause-report';
import { inboxTopicHandler } from '../../lambdas/github/webhook';
import { examplePayload, REPO, startWebhookHarness } from './webhook-harness';
import { freshEachTest } from '../support/fresh-each-test';
import { runningLabeledIssueRun } from '../support/labeled-issue-run';

/**
 * Issue 11 item 6, while a GitHub run waits for a human: its one status comment says what it waits
 * for and points to the question below it, and says it goes on once that was resolved on GitHub; a
 * late delivery never writes over a newer stage. Real issues.labeled / issue_comment payloads
 * through the receiver, the Pause task's own code, dynalite.
 */
const h = freshEachTest(startWebhookHarness);

const RUN = '01JBX7M5Q6RZ5Y9V3G2H4K8N0P';

async function pausedIssueRun(reason: PauseReason = 'question'): Promise<{ runId: string; itemId: string; statusCommentId: number }> {
  const runId = await runningLabeledIssueRun(h);
  const itemId = newRunId();
  await pauseRun(
    { ...h.db.store, stopRunTasks: async () => undefined },
    {
      runId,
      token: `token-of-${itemId}`,
      report: {
        pause: {
          itemId,
          reason,
          message: 'Keep digits?',
          details: {},
          branch: `nightshift/${runId}`,
          checkpoint: `s3://traces/runs/${runId}/checkpoint-${itemId}.json`,
        },
      },
    },
  );
  const run = await h.db.store.runs.get(runId);
  return { runId, itemId, statusCommentId: run!.statusCommentId! };
}

const deps = () => ({
  runs: h.db.store.runs,
  inbox: h.db.store.inbox,
  queue: h.db.store.queue,
  threads: h.deps.threads,
  github: async () => h.repo,
  commentCommand: '/nightshift',
});
const snsEventOf = (itemId: string) => ({
  Records: [
    {
      EventSource: 'aws:sns',
      Sns: {
        Type: 'Notification',
        MessageId: 'm-1',
        Message: 'm',
        MessageAttributes: { itemId: { Type: 'String', Value: itemId }, thread: { Type: 'String', Value: `${REPO}#1` } },
      },
    },
  ],
});

describe('the waiting and resumed stages of the status comment', () => {
  test('Given a run that waits or resumed, When its status comment is written, Then waiting names what it waits for and points below, and resumed says how it was resolved', () => {
    expect(waitingComment({ runId: RUN, reason: 'question', itemId: 'ITEM', spentMicros: 250_000, budgetMicros: 2_000_000 })).toMatch(
      /^\*\*Nightshift\*\* run `01JBX7M5Q6RZ5Y9V3G2H4K8N0P`: ⏸️ waiting for an answer — see the question below \(item `ITEM` in the inbox\)\..*Cost so far \$0\.25 of the \$2\.00 budget/s,
    );
    expect(waitingComment({ runId: RUN, reason: 'budget_approval', itemId: 'ITEM', spentMicros: 0, budgetMicros: 1 })).toContain(
      'waiting for an approval of more budget — see the request below',
    );
    expect(waitingComment({ runId: RUN, reason: 'plan_approval', itemId: 'ITEM', spentMicros: 0, budgetMicros: 1 })).toContain(
      'waiting for an approval of its plan — see the plan below',
    );
    expect(resumedComment({ runId: RUN, action: 'answer', spentMicros: 0, budgetMicros: 1 })).toContain(
      '⏳ answered; queued to go on from where it stopped',
    );
    expect(resumedComment({ runId: RUN, action: 'approve', spentMicros: 0, budgetMicros: 1 })).toContain('⏳ approved;');
  });
});

describe('the webhook function edits the comment as the run waits and goes on', () => {
  test('Given an issue run that paused for a question, When the inbox topic delivers the item, Then the question is posted and the status comment edited in place to waiting', async () => {
    const { itemId, statusCommentId } = await pausedIssueRun();
    const edits = h.repo.edits.length;
    const outcomes = await inboxTopicHandler(deps(), snsEventOf(itemId));
    expect(outcomes).toEqual([expect.objectContaining({ action: 'posted', itemId })]);
    const edited = h.repo.edits.slice(edits);
    expect(edited).toEqual([
      {
        id: statusCommentId,
        body: expect.stringContaining(`waiting for an answer — see the question below (item \`${itemId}\` in the inbox)`),
      },
    ]);
  });

  test('Given the question answered on the thread, Then the status comment says the run goes on; a late item delivery does not put it back to waiting', async () => {
    const { runId, itemId, statusCommentId } = await pausedIssueRun();
    const answered = await h.deliver(
      'issue_comment',
      examplePayload('issue_comment', 'created', (p) => (p.comment.body = '/nightshift answer keep digits')),
    );
    expect(answered.body).toMatchObject({ status: 'resolved', itemId });
    expect(await reportRunProgress(deps(), runId)).toEqual({ action: 'reported', runId, stage: 'resumed', comment: 'edited' });
    expect(h.repo.edits.at(-1)).toEqual({ id: statusCommentId, body: expect.stringContaining('⏳ answered; queued to go on') });

    // The topic's delivery of the (now resolved) item arrives late: nothing is posted, the comment keeps the newer stage.
    const edits = h.repo.edits.length;
    expect(await inboxTopicHandler(deps(), snsEventOf(itemId))).toEqual([{ action: 'skipped', itemId, reason: 'already resolved' }]);
    expect(h.repo.edits.at(-1)!.body).toContain('queued to go on');
    expect(h.repo.edits.length - edits).toBeLessThanOrEqual(1);
  });

  test('Given a run without a stored comment, an ended run or an unknown one, When its progress is reported, Then the first gets a comment posted and the others write nothing', async () => {
    const { runId } = await pausedIssueRun('budget_approval');
    await h.db.store.runs.patch(runId, { statusCommentId: null });
    const written = h.repo.written.length;
    expect(await reportRunProgress(deps(), runId)).toEqual({ action: 'reported', runId, stage: 'waiting', comment: 'created' });
    expect(h.repo.written.slice(written)).toEqual([
      { number: 1, id: expect.any(Number), body: expect.stringContaining('waiting for an approval of more budget') },
    ]);
    expect((await h.db.store.runs.get(runId))!.statusCommentId).toBe(h.repo.written.at(-1)!.id);

    await h.db.store.runs.transition(runId, 'CANCELLED', { finishedAt: new Date().toISOString() });
    const edits = h.repo.edits.length;
    expect(await reportRunProgress(deps(), runId)).toEqual({
      action: 'ignored',
      reason: 'the run is CANCELLED: not a stage this report writes',
    });
    expect(await reportRunProgress(deps(), RUN)).toEqual({ action: 'ignored', reason: `run ${RUN} is unknown` });
    expect(h.repo.edits.length).toBe(edits);
  });
});
