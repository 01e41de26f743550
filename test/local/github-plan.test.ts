import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { listPulls } from '../../local/forge';
import { bareRepoPath } from '../../local/forge/forge-repositories';
import { sampleRepo, startGithubTestPlatform, type TestPlatform, actOnForge } from './platform-harness';
import { aliceOpensSlugifyIssue, aliceResumesOnIssue, botCommentOnItem, botCommentsOn, issueRunWaiting } from '../support/github-issue-run';

/**
 * Issue 13 item 2 on GitHub, end to end in local mode: `/nightshift plan <text>` on an issue of the
 * local forge submits a plan run (plan: true); its plan_approval is posted on the issue like a
 * question; a stranger's approve changes nothing; the writer's `/nightshift approve <edited plan>`
 * resumes the run with the edited plan in its conversation, and it ends with its PR.
 * The scripted model (plan-then-risky.jsonl): explore, propose a plan, then a shell command (no
 * approvalRequired in this repository, so it just runs), the fix, the tests, finish.
 */
describe('local mode: /nightshift plan on an issue, approved on the issue', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startGithubTestPlatform(join(__dirname, 'fixtures', 'plan-then-risky.jsonl'));
  }, 240_000);
  afterAll(() => t?.stop());

  const as: ReturnType<typeof actOnForge> = (...args) => actOnForge(t)(...args);
  const baseHead = () =>
    execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, sampleRepo), 'rev-parse', 'main'], { encoding: 'utf8' }).trim();

  it('Given a /nightshift plan comment on an issue, Then a plan_approval is posted on the issue with nothing committed; When a stranger approves, Then they are refused; When alice approves an edited plan, Then the one run resumes with it to its PR', async () => {
    const number = await aliceOpensSlugifyIssue(t);
    await as('alice', 'POST', `/issues/${number}/comments`, { body: '/nightshift plan and keep digits' });
    const waiting = await issueRunWaiting(t, 'the plan run to wait for approval');
    expect(waiting).toMatchObject({ plan: true, issue: number, thread: `${sampleRepo}#${number}`, requester: 'github:alice' });
    expect(waiting.prompt).toContain('and keep digits');
    const itemId = waiting.resume!.itemId;
    expect(await t.platform.store.inbox.get(itemId)).toMatchObject({
      type: 'plan_approval',
      state: 'open',
      details: { plan: expect.stringContaining('Collapse runs of separators') },
    });
    // In the plan phase nothing was committed: the branch is the base commit.
    expect(
      execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, sampleRepo), 'rev-parse', waiting.branch!], { encoding: 'utf8' }).trim(),
    ).toBe(baseHead());

    const botComments = () => botCommentsOn(t, number);
    const posted = await botCommentOnItem(t, number, itemId, 'the plan on the issue');
    expect(posted.body).toContain('proposes a plan and waits for approval');
    expect(posted.body).toContain('Collapse runs of separators');
    expect(posted.body).toContain('`/nightshift approve` or `/nightshift reject`');

    await as('mallory', 'POST', `/issues/${number}/comments`, { body: '/nightshift approve' });
    await t.platform.forge.idle();
    expect(await t.platform.store.inbox.get(itemId)).toMatchObject({ state: 'open' });

    const edited = '1. Collapse runs of separators.\n2. Trim the ends.\n3. Run npm test. EDITED-ON-GITHUB';
    const run = await aliceResumesOnIssue(t, number, `/nightshift approve ${edited}`, waiting.runId);
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      outcome: 'pr_opened',
      branch: waiting.branch,
      resume: { itemId, action: 'approve', answer: expect.stringContaining('EDITED-ON-GITHUB') },
    });
    expect(await t.platform.store.inbox.get(itemId)).toMatchObject({
      state: 'resolved',
      resolvedBy: 'github:alice',
      resolution: { action: 'approve', plan: edited },
    });
    expect(listPulls(t.home.forge, sampleRepo).some((p) => run.prUrl!.endsWith(`/pull/${p.number}`) && p.head === waiting.branch)).toBe(
      true,
    );
    expect(botComments().some((c) => c.body.includes(`@alice approved inbox item \`${itemId}\``))).toBe(true);
    // One run: the approval resumed it, and started no other.
    expect((await t.platform.store.runs.list({ limit: 10 })).runs).toHaveLength(1);
  }, 360_000);
});
