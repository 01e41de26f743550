import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { listPulls } from '../../local/forge';
import { listComments } from '../../local/forge/forge-records';
import { bareRepoPath } from '../../local/forge/forge-repositories';
import { sampleRepo, startGithubTestPlatform, type TestPlatform, actOnForge } from './platform-harness';
import { eventually } from '../support/eventually';

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
    const issue = await as('alice', 'POST', '/issues', { title: 'Fix slugify', body: 'Fix slugify so the tests pass.' });
    const number = Number(issue.number);
    await as('alice', 'POST', `/issues/${number}/comments`, { body: '/nightshift plan and keep digits' });
    const waiting = await eventually(
      async () =>
        (await t.platform.store.runs.list({ limit: 10 })).runs.find((r) => r.source === 'github_issue' && r.status === 'WAITING_FOR_HUMAN'),
      'the plan run to wait for approval',
      120_000,
    );
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

    const botComments = () => listComments(t.home.forge, sampleRepo, number).filter((c) => c.user.type === 'Bot');
    const posted = await eventually(
      () => botComments().find((c) => c.body.includes(`inbox item \`${itemId}\``)),
      'the plan on the issue',
      60_000,
    );
    expect(posted.body).toContain('proposes a plan and waits for approval');
    expect(posted.body).toContain('Collapse runs of separators');
    expect(posted.body).toContain('`/nightshift approve` or `/nightshift reject`');

    await as('mallory', 'POST', `/issues/${number}/comments`, { body: '/nightshift approve' });
    await t.platform.forge.idle();
    expect(await t.platform.store.inbox.get(itemId)).toMatchObject({ state: 'open' });

    const edited = '1. Collapse runs of separators.\n2. Trim the ends.\n3. Run npm test. EDITED-ON-GITHUB';
    await as('alice', 'POST', `/issues/${number}/comments`, { body: `/nightshift approve ${edited}` });
    const run = await eventually(
      async () => {
        const r = await t.platform.store.runs.get(waiting.runId);
        return r && ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'BUDGET_EXCEEDED'].includes(r.status) ? r : undefined;
      },
      'the resumed run to end',
      150_000,
    );
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
