import { join } from 'node:path';
import { capsOf } from '../../core/runs/caps';
import { newRunId } from '../../core/runs/run-id';
import type { RunRecord } from '../../core/store/ports';
import { listComments } from '../../local/forge/forge-records';
import { sampleRepo, startGithubTestPlatform, type TestPlatform, actOnForge } from './platform-harness';
import { localFixture } from '../support/test-config';
import { eventually } from '../support/eventually';
import { editsOf } from '../support/github-issue-run';

/**
 * Issue 11 item 6 end to end in local mode with the local forge, the two stages of a GitHub run's
 * status comment that the webhook function cannot see from GitHub itself:
 * - the queue moves: a queued run's comment shows its place, and is edited as the runs ahead leave
 *   the queue (Admit announces the move on the inbox topic; the webhook function edits the comments);
 * - an answer given through the API (as the CLI and the console give it): the comment leaves
 *   "waiting" for "answered; queued to go on" while the run waits for a slot, not only once its
 *   runner starts again.
 * One slot (concurrency.global 1). "Another run holds the only slot" is a slot taken in the real slot
 * store for a run id of the test's (local mode repairs slots only at start).
 */
describe('local mode: the status comment follows the queue and answers given outside GitHub', () => {
  const config = localFixture({ concurrency: { global: 1, perRepo: 1 } });
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startGithubTestPlatform(join(__dirname, 'fixtures', 'ask-then-demo.jsonl'), config);
  }, 240_000);
  afterAll(() => t?.stop());

  const as: ReturnType<typeof actOnForge> = (...args) => actOnForge(t)(...args);
  const caps = capsOf({ concurrency: config.concurrency });
  const holdTheSlot = async (): Promise<() => Promise<void>> => {
    const holder = newRunId();
    expect(await t.platform.store.slots.acquire(holder, sampleRepo, caps, 'local:other')).toBe(true);
    return () => t.platform.store.slots.release(holder, sampleRepo, 'local:other');
  };
  const bodyOf = (issue: number, commentId: number) =>
    listComments(t.home.forge, sampleRepo, issue).find((c) => c.id === commentId)?.body ?? '';
  const runOfIssue = (issue: number, wanted: (run: RunRecord) => boolean, what: string) =>
    eventually(
      async () => (await t.platform.store.runs.list({ limit: 50 })).runs.find((r) => r.thread === `${sampleRepo}#${issue}` && wanted(r)),
      what,
      120_000,
    );

  async function labeledIssue(title: string): Promise<number> {
    const issue = await as('alice', 'POST', '/issues', { title, body: 'Fix slugify so the tests pass.' });
    await as('alice', 'POST', `/issues/${Number(issue.number)}/labels`, { labels: ['nightshift'] });
    return Number(issue.number);
  }

  it('Given three issue runs queued behind a busy slot, When the first is admitted, Then the two behind are edited to their new places', async () => {
    const release = await holdTheSlot();
    const first = await labeledIssue('First');
    const firstRun = await runOfIssue(
      first,
      (r) => r.status === 'QUEUED' && r.statusCommentId != null,
      'the first run to be queued with its comment',
    );
    const second = await labeledIssue('Second');
    const secondRun = await runOfIssue(
      second,
      (r) => r.status === 'QUEUED' && r.statusCommentId != null,
      'the second run to be queued with its comment',
    );
    const third = await labeledIssue('Third');
    const thirdRun = await runOfIssue(
      third,
      (r) => r.status === 'QUEUED' && r.statusCommentId != null,
      'the third run to be queued with its comment',
    );
    expect(bodyOf(first, firstRun.statusCommentId!)).toContain('queued; it starts as soon as a slot is free.');
    expect(bodyOf(second, secondRun.statusCommentId!)).toContain('queued, position 2 in the queue.');
    expect(bodyOf(third, thirdRun.statusCommentId!)).toContain('queued, position 3 in the queue.');

    // The slot frees; the sweep wakes the first run, Admit takes it out of the queue and announces the move.
    await release();
    await runOfIssue(first, (r) => r.status !== 'QUEUED', 'the first run to be admitted');
    await eventually(
      () => (bodyOf(third, thirdRun.statusCommentId!).includes('queued, position 2 in the queue.') ? true : undefined),
      "the third run's comment to show place 2",
      60_000,
    );
    await eventually(
      () =>
        editsOf(t, secondRun.statusCommentId!).some((b) => b.includes('queued; it starts as soon as a slot is free.')) ? true : undefined,
      "the second run's comment to show it is next",
      60_000,
    );

    // Each comment was edited only where its place changed, in the order the queue moved, before its run ran.
    const places = (commentId: number) =>
      editsOf(t, commentId)
        .filter((b) => b.includes('⏳ queued'))
        .map((b) => (b.includes('position') ? Number(/position (\d+)/.exec(b)![1]) : 1));
    await eventually(
      async () => ((await t.platform.store.runs.get(thirdRun.runId))?.status !== 'QUEUED' ? true : undefined),
      'the third run to leave the queue',
      120_000,
    );
    expect(places(secondRun.statusCommentId!)).toEqual([1]);
    expect(places(thirdRun.statusCommentId!)).toEqual([2, 1]);
    expect(places(firstRun.statusCommentId!)).toEqual([]);
  }, 300_000);

  it('Given an issue run waiting for an answer, When the answer comes through the API while no slot is free, Then the comment says it was answered and goes on, then runs to its result', async () => {
    const issue = await labeledIssue('Answered through the API');
    const waiting = await runOfIssue(issue, (r) => r.status === 'WAITING_FOR_HUMAN', 'the run to wait for an answer');
    const commentId = waiting.statusCommentId!;
    await eventually(
      () => (bodyOf(issue, commentId).includes('⏸️ waiting for an answer') ? true : undefined),
      'the comment to say the run waits',
      60_000,
    );

    // The run holds no slot while it waits; another run takes the only one.
    const release = await holdTheSlot();
    await t.client.resolveInboxItem(waiting.resume!.itemId, { action: 'answer', answer: 'Yes, keep digits.' });
    await eventually(
      () => (bodyOf(issue, commentId).includes('⏳ answered; queued to go on') ? true : undefined),
      'the comment to say the run was answered',
      60_000,
    );
    expect((await t.platform.store.runs.get(waiting.runId))?.status).toBe('QUEUED');

    await release();
    const ended = await runOfIssue(issue, (r) => r.runId === waiting.runId && r.status === 'SUCCEEDED', 'the answered run to succeed');
    await eventually(
      () => (bodyOf(issue, commentId).includes('✅ opened a draft pull request') ? true : undefined),
      'the result in the comment',
      60_000,
    );
    const stages = editsOf(t, commentId).map((b) =>
      b.includes('⏸️ waiting for an answer')
        ? 'waiting'
        : b.includes('⏳ answered; queued to go on')
          ? 'resumed'
          : b.includes('🏃 running')
            ? 'running'
            : b.includes('✅')
              ? 'result'
              : `other: ${b}`,
    );
    expect(stages.filter((s, i) => s !== stages[i - 1])).toEqual(['running', 'waiting', 'resumed', 'running', 'result']);
    expect(bodyOf(issue, commentId)).toContain(ended.prUrl!);
  }, 300_000);
});
