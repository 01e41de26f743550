import { join } from 'node:path';
import { listComments } from '../../local/forge/forge-records';
import { sampleRepo, startGithubTestPlatform, type TestPlatform, actOnForge } from './platform-harness';
import { eventually } from '../support/eventually';
import { aliceOpensSlugifyIssue, aliceResumesOnIssue, editsOf, issueRunWaiting } from '../support/github-issue-run';

/**
 * Issue 11 item 6 end to end in local mode with the local forge: a GitHub run's ONE status comment is
 * edited in place through every stage, the wait for a human included: queued (the webhook at submit)
 * → running (the runner) → waiting for an answer, pointing to the question posted below it (the
 * webhook function, on the inbox topic's delivery) → answered and queued to go on (the webhook
 * function, as it takes the `/nightshift answer`) → running again (the resumed runner) → the result
 * with the PR (the run-end report). The forge records every request, so each edit is seen in order.
 */
describe('local mode: the status comment while a GitHub run waits for a human', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startGithubTestPlatform(join(__dirname, 'fixtures', 'ask-then-demo.jsonl'));
  }, 240_000);
  afterAll(() => t?.stop());

  const as: ReturnType<typeof actOnForge> = (...args) => actOnForge(t)(...args);

  it('Given a GitHub run that asks, When it is queued, runs, waits, is answered and runs again to its result, Then one status comment follows each stage, pointing to the question below while it waits', async () => {
    const number = await aliceOpensSlugifyIssue(t);
    await as('alice', 'POST', `/issues/${number}/labels`, { labels: ['nightshift'] });
    const waiting = await issueRunWaiting(t, 'the issue run to wait for a human');
    const { runId } = waiting;
    const itemId = waiting.resume!.itemId;
    const statusCommentId = waiting.statusCommentId!;
    expect(statusCommentId).toEqual(expect.any(Number));

    // The comment says the run waits, and the question is a comment of its own below it.
    const statusBody = () => listComments(t.home.forge, sampleRepo, number).find((c) => c.id === statusCommentId)?.body ?? '';
    await eventually(
      () => (statusBody().includes('⏸️ waiting for an answer') ? true : undefined),
      'the status comment to say the run waits',
      60_000,
    );
    expect(statusBody()).toContain(`— see the question below (item \`${itemId}\` in the inbox)`);
    const comments = listComments(t.home.forge, sampleRepo, number);
    const questionAt = comments.findIndex(
      (c) => c.user.type === 'Bot' && c.body.includes(`inbox item \`${itemId}\``) && c.id !== statusCommentId,
    );
    expect(questionAt).toBeGreaterThan(comments.findIndex((c) => c.id === statusCommentId));
    // One status comment per run (the question reads "… run `id` asks a question").
    expect(comments.filter((c) => c.body.startsWith(`**Nightshift** run \`${runId}\`: `))).toHaveLength(1);

    const run = await aliceResumesOnIssue(t, number, '/nightshift answer Yes, keep digits.', runId);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened' });
    await eventually(
      () => (statusBody().includes('✅ opened a draft pull request') ? true : undefined),
      'the result in the status comment',
      60_000,
    );

    // The stages, in the order they were written (the runner may edit "running" more than once in a segment).
    const stages = editsOf(t, statusCommentId).map((body) =>
      body.includes('⏸️ waiting for an answer')
        ? 'waiting'
        : body.includes('⏳ answered; queued to go on')
          ? 'resumed'
          : body.includes('🏃 running')
            ? 'running'
            : body.includes('✅')
              ? 'result'
              : `other: ${body}`,
    );
    const collapsed = stages.filter((s, i) => s !== stages[i - 1]);
    expect(collapsed).toEqual(['running', 'waiting', 'resumed', 'running', 'result']);
    expect(statusBody()).toContain(run.prUrl!);
  }, 360_000);
});
