import { MAX_QUEUE_EDITS, queueCommentEdits, reportQueueMoved } from '../../core/github/queue-comments';
import { arrivedInQueue, leaveQueue, QUEUE_COMMENT_WINDOW } from '../../core/runs/queue-moves';
import { newRunId } from '../../core/runs/run-id';
import type { RunRecord } from '../../core/store/ports';
import type { QueueEntry } from '../../adapters/dynamodb/run-queue';
import { examplePayload, REPO, startWebhookHarness } from './webhook-harness';
import { freshEachTest } from '../support/fresh-each-test';

/**
 * Issue 11 item 6, the queued stage of a GitHub run's status comment: the place it shows is kept true
 * as the queue moves. Who announces a move (core/runs/queue-moves.ts), which comments a move edits
 * (pure), and the edit itself over dynalite with real issues.labeled payloads; the end to end path in
 * local mode is test/local/github-queue-comments.test.ts.
 */
const h = freshEachTest(startWebhookHarness);

/** An issue-label run on issue `number`, submitted by the webhook (its queued comment posted, the place it showed stored). */
async function issueRun(number: number): Promise<RunRecord> {
  h.repo.issues.set(number, { title: `Issue ${number}`, body: 'Fix it.', user: { login: 'Codertocat', type: 'User' } });
  const answer = await h.deliver(
    'issues',
    examplePayload('issues', 'labeled', (p) => {
      p.label.name = 'nightshift';
      p.issue.number = number;
    }),
  );
  return (await h.db.store.runs.get(answer.body.runId as string))!;
}

const wait = (run: RunRecord) =>
  h.db.store.queue.wait({
    runId: run.runId,
    repo: run.repo,
    requester: run.requester,
    priority: 'normal',
    held: false,
    at: new Date().toISOString(),
  });
const placesShown = async (runs: RunRecord[]) =>
  Promise.all(runs.map(async (r) => (await h.db.store.runs.get(r.runId))!.statusCommentPosition));
const lastEditOf = (run: RunRecord) => h.repo.edits.filter((e) => e.id === run.statusCommentId).at(-1)?.body;

describe('which comments a move edits', () => {
  test('Given more queued runs than the window, Then only those within it whose shown place changed are edited, nearest first, at most MAX_QUEUE_EDITS', async () => {
    const base = await issueRun(1);
    const entries: QueueEntry[] = [];
    const runs = new Map<string, RunRecord>();
    for (let i = 0; i < QUEUE_COMMENT_WINDOW + 3; i++) {
      const runId = newRunId();
      entries.push({
        runId,
        repo: REPO,
        requester: base.requester,
        queueOrder: `2#${runId}`,
        held: false,
        wokenAt: null,
        since: new Date().toISOString(),
      });
      // Every comment shows the place behind its own (the run ahead of all of them just left).
      runs.set(runId, { ...base, runId, status: 'QUEUED', statusCommentId: 5_000 + i, statusCommentPosition: i + 2 });
    }
    const edits = queueCommentEdits(entries, runs);
    expect(edits).toHaveLength(MAX_QUEUE_EDITS);
    expect(edits.map((e) => [e.commentId, e.shown, e.position])).toEqual([0, 1, 2, 3, 4].map((i) => [5_000 + i, i + 2, i + 1]));

    // Runs whose comment shows no place, that already show theirs, left QUEUED or have no comment: none.
    const ids = entries.map((e) => e.runId);
    runs.set(ids[0]!, { ...runs.get(ids[0]!)!, statusCommentPosition: null });
    runs.set(ids[1]!, { ...runs.get(ids[1]!)!, statusCommentPosition: 2 });
    runs.set(ids[2]!, { ...runs.get(ids[2]!)!, status: 'STARTING' });
    runs.set(ids[3]!, { ...runs.get(ids[3]!)!, statusCommentId: null });
    runs.delete(ids[4]!);
    expect(queueCommentEdits(entries, runs).map((e) => e.position)).toEqual([6, 7, 8, 9, 10]);
    // Beyond the window nothing is edited, however many edits are left: every comment within it is true, the three behind it are not.
    for (const [i, id] of ids.entries())
      runs.set(id, {
        ...base,
        runId: id,
        status: 'QUEUED',
        statusCommentId: 5_000 + i,
        statusCommentPosition: i < QUEUE_COMMENT_WINDOW ? i + 1 : 1,
      });
    expect(queueCommentEdits(entries, runs)).toEqual([]);
  });
});

describe('who announces a move', () => {
  test('Given the queue, Then leaving it announces only when the run had an entry, and arriving only when a run waits behind within the window', async () => {
    let moves = 0;
    const deps = { queue: h.db.store.queue, events: h.db.store.events, announceQueueMoved: async () => void moves++ };
    const [a, b] = [await issueRun(1), await issueRun(2)];
    await wait(a);
    await arrivedInQueue(deps, a.runId, 1);
    expect(moves).toBe(0); // at the end: nobody moved
    await wait(b);
    await arrivedInQueue(deps, b.runId, 1); // as if it had landed ahead of a (a higher priority)
    expect(moves).toBe(1);
    await arrivedInQueue(deps, b.runId, QUEUE_COMMENT_WINDOW); // beyond the comments kept true
    expect(moves).toBe(1);
    await leaveQueue(deps, a.runId);
    expect(moves).toBe(2);
    await leaveQueue(deps, a.runId); // idempotent: no entry, no move
    expect(moves).toBe(2);

    // A failed publish fails nothing and is noted on the run's timeline.
    await leaveQueue({ ...deps, announceQueueMoved: async () => Promise.reject(new Error('SNS is down')) }, b.runId);
    expect(await h.db.store.queue.head(5)).toEqual([]);
    const notes = (await h.db.store.events.list(b.runId, { limit: 100 })).events.filter((e) => e.type === 'note');
    expect(notes.map((e) => e.message)).toContain('the queue move could not be announced to the status comments: Error');
  });
});

describe('the edit', () => {
  test('Given three queued issue runs, When the queue moves back and then forward, Then each comment shows its place and the place is stored', async () => {
    const runs = [await issueRun(1), await issueRun(2), await issueRun(3)];
    // Submitted into an empty queue: each comment says it is next.
    expect(runs.map((r) => r.statusCommentPosition)).toEqual([1, 1, 1]);
    for (const run of runs) await wait(run);

    expect(await reportQueueMoved({ ...h.db.store, github: async () => h.repo })).toEqual({ edited: [runs[1]!.runId, runs[2]!.runId] });
    expect(await placesShown(runs)).toEqual([1, 2, 3]);
    expect(lastEditOf(runs[2]!)).toContain('queued, position 3 in the queue.');

    await h.db.store.queue.remove(runs[0]!.runId);
    await h.db.store.runs.transition(runs[0]!.runId, 'STARTING');
    const edits = h.repo.edits.length;
    expect(await reportQueueMoved({ ...h.db.store, github: async () => h.repo })).toEqual({ edited: [runs[1]!.runId, runs[2]!.runId] });
    expect(h.repo.edits.slice(edits).map((e) => e.id)).toEqual([runs[1]!.statusCommentId, runs[2]!.statusCommentId]);
    expect(lastEditOf(runs[1]!)).toContain('queued; it starts as soon as a slot is free.');
    expect(await placesShown(runs)).toEqual([1, 1, 2]);

    // Nothing moved since: nothing is edited.
    expect(await reportQueueMoved({ ...h.db.store, github: async () => h.repo })).toEqual({ edited: [] });
  });

  test('Given a run admitted between the read and the edit, Then its comment is left to its runner; Given GitHub failing, Then the old place is kept and the move retried', async () => {
    const runs = [await issueRun(1), await issueRun(2)];
    for (const run of runs) await wait(run);
    // Admitted meanwhile: the conditional store of the place is refused, so its comment is not touched.
    const admittedMeanwhile = {
      ...h.db.store.runs,
      get: async (runId: string) => {
        const run = await h.db.store.runs.get(runId);
        if (runId === runs[1]!.runId && run?.status === 'QUEUED') await h.db.store.runs.transition(runId, 'STARTING');
        return run;
      },
    };
    expect(await reportQueueMoved({ queue: h.db.store.queue, runs: admittedMeanwhile, github: async () => h.repo })).toEqual({
      edited: [],
    });
    expect(h.repo.edits.filter((e) => e.id === runs[1]!.statusCommentId)).toEqual([]);

    const third = await issueRun(3);
    await wait(third);
    expect(third.statusCommentPosition).toBe(3);
    // The admitted run leaves the queue: the third moves up to 2.
    await h.db.store.queue.remove(runs[1]!.runId);
    const down = Object.assign(Object.create(h.repo), { editComment: async () => Promise.reject(new Error('GitHub is down')) });
    await expect(reportQueueMoved({ ...h.db.store, github: async () => down })).rejects.toThrow('GitHub is down');
    expect((await h.db.store.runs.get(third.runId))!.statusCommentPosition).toBe(3);
    // The retried delivery edits it.
    expect(await reportQueueMoved({ ...h.db.store, github: async () => h.repo })).toEqual({ edited: [third.runId] });
    expect(lastEditOf(third)).toContain('queued, position 2 in the queue.');
  });
});
