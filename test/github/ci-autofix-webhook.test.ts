import type { CiJob, GithubCiPort } from '../../core/github/ci-port';
import { createAutofixAttempts } from '../../adapters/dynamodb/autofix-attempts';
import type { RunRecord } from '../../core/store/ports';
import { examplePayload, REPO, startWebhookHarness, webhookConfig, type WebhookHarness } from './webhook-harness';

/** CI as the fake GitHub reports it: failed jobs with logs, per workflow run and check suite. */
class FakeCi implements GithubCiPort {
  jobs: CiJob[] = [{ id: 71, name: 'unit tests', conclusion: 'failure', failedSteps: ['Run npm test'], summary: null, hasLog: true }];
  logs = new Map<number, string>([
    [
      71,
      '2026-12-03T10:00:00.0000000Z ✕ slugify trims separators\nexpected "a-b" got "a--b"\nGITHUB_TOKEN=ghs_abcdefghijklmnopqrstuvwxyz0123456789',
    ],
  ]);
  reads: string[] = [];
  async workflowJobs(id: number) {
    this.reads.push(`jobs ${id}`);
    return this.jobs;
  }
  async suiteCheckRuns(id: number) {
    this.reads.push(`check-runs ${id}`);
    return this.jobs;
  }
  async jobLogTail(id: number, maxBytes: number) {
    this.reads.push(`log ${id}`);
    const text = this.logs.get(id);
    return text === undefined ? null : { text: text.slice(-maxBytes), truncated: false };
  }
}

const sha = (n: number) => n.toString(16).padStart(40, 'c');

describe('CI auto-fix through the webhook receiver', () => {
  let h: WebhookHarness;
  let ci: FakeCi;
  beforeAll(async () => {
    h = await startWebhookHarness(
      webhookConfig({
        budgets: { perRunUsd: 1, maxPerRunUsd: 2, perRequesterDailyUsd: 50, dailyUsd: 100, perThreadUsd: 50 },
        github: {
          tokenSecret: 'nightshift/github-token',
          webhookSecret: 'nightshift/gh-webhook',
          autofix: { maxAttempts: { perCommit: 2, perPullRequest: 3 } },
        },
      }),
    );
    ci = new FakeCi();
    h.deps.autofix = { attempts: createAutofixAttempts(h.db.doc, h.db.names.control), events: h.db.store.events, ci: async () => ci };
  }, 60_000);
  afterAll(() => h.stop());

  /** A pull request whose head branch a Nightshift run pushed `head` to, the run ended. */
  async function nightshiftPull(
    number: number,
    head: string,
    tests?: { base: string[]; head: string[] },
    requester = 'github:alice',
  ): Promise<RunRecord> {
    const branch = `nightshift/pr-${number}`;
    h.repo.pulls.set(number, {
      number,
      state: 'open',
      headRef: branch,
      headRepo: REPO,
      baseRepo: REPO,
      htmlUrl: `https://github.com/${REPO}/pull/${number}`,
      headSha: head,
    });
    const { runId } = await h.deps.submit({
      request: { repo: REPO, prompt: 'Make the change.', branch },
      requester,
      source: 'github_comment',
      thread: `${REPO}#${number}`,
    });
    await ended(runId);
    await h.db.store.events.append(runId, 'note', `pushed ${head.slice(0, 12)} to ${branch}`, { commit: head, branch });
    if (tests) {
      await h.db.store.events.append(runId, 'test_result', 'tests at base', {
        phase: 'base',
        passed: tests.base.length === 0,
        failed: tests.base,
        total: 5,
      });
      await h.db.store.events.append(runId, 'test_result', 'tests at head', {
        phase: 'head',
        passed: tests.head.length === 0,
        failed: tests.head,
        total: 5,
      });
    }
    return (await h.db.store.runs.get(runId))!;
  }
  async function ended(runId: string) {
    const run = (await h.db.store.runs.get(runId))!;
    if (run.status === 'QUEUED') await h.db.store.runs.transition(runId, 'STARTING');
    await h.db.store.runs.transition(runId, 'RUNNING');
    await h.db.store.runs.transition(runId, 'SUCCEEDED', {
      outcome: 'pr_updated',
      prUrl: `https://github.com/${REPO}/pull/${run.thread!.split('#')[1]}`,
      finishedAt: new Date().toISOString(),
    });
  }
  const suiteFailed = (number: number, head: string, suiteId: number, adjust: (p: Record<string, unknown>) => void = () => undefined) =>
    examplePayload('check_suite', 'completed', (p) => {
      Object.assign(p.check_suite, {
        id: suiteId,
        head_sha: head,
        head_branch: `nightshift/pr-${number}`,
        conclusion: 'failure',
        updated_at: new Date().toISOString(),
        app: { id: 15368, slug: 'github-actions' },
      });
      p.check_suite.pull_requests = [
        {
          ...p.check_suite.pull_requests[0],
          number,
          head: { ...p.check_suite.pull_requests[0].head, ref: `nightshift/pr-${number}`, sha: head },
        },
      ];
      Object.assign(p.sender, { login: 'github-actions[bot]', type: 'Bot' });
      adjust(p);
    });
  const workflowFailed = (number: number, head: string, suiteId: number) =>
    examplePayload(
      'workflow_run',
      'completed',
      (p) => {
        Object.assign(p.workflow_run, {
          id: 5_000 + suiteId,
          check_suite_id: suiteId,
          head_sha: head,
          head_branch: `nightshift/pr-${number}`,
          conclusion: 'failure',
          updated_at: new Date().toISOString(),
        });
        p.workflow_run.head_repository.full_name = REPO;
        p.workflow_run.pull_requests = [
          {
            ...p.workflow_run.pull_requests[0],
            number,
            head: { ...p.workflow_run.pull_requests[0].head, ref: `nightshift/pr-${number}`, sha: head },
          },
        ];
      },
      2,
    );
  const fixRuns = async (number: number) =>
    (await h.db.store.runs.list({ limit: 100 })).runs.filter((r) => r.source === 'github_ci' && r.thread === `${REPO}#${number}`);
  const commentsOn = (number: number) => h.repo.written.filter((c) => c.number === number).map((c) => c.body);

  test('Given a failed check suite on the head of a Nightshift PR, When it is delivered, Then one fix run starts for its latest requester with the redacted log; its workflow_run twin and a redelivery add nothing', async () => {
    const opener = await nightshiftPull(10, sha(10), undefined, 'github:alice');
    const answer = await h.deliver('check_suite', suiteFailed(10, sha(10), 101));
    expect(answer).toMatchObject({ statusCode: 202, body: { status: 'submitted', thread: `${REPO}#10` } });
    const [fix] = await fixRuns(10);
    expect(fix).toMatchObject({
      source: 'github_ci',
      requester: opener.requester,
      branch: 'nightshift/pr-10',
      thread: `${REPO}#10`,
      labels: ['github', 'ci-fix'],
    });
    expect(fix!.prompt).toContain(`CI failed (failure) on commit ${sha(10)}`);
    expect(fix!.prompt).toContain('Failing job "unit tests" (failure); failed step: Run npm test. The end of its log:');
    expect(fix!.prompt).toContain('expected "a-b" got "a--b"');
    expect(fix!.prompt).not.toContain('ghs_abcdefghijklmnopqrstuvwxyz');
    expect(fix!.prompt).toContain('This is auto-fix attempt 1 of at most 2 for this commit, and 1 of at most 3 for the pull request.');
    expect(ci.reads).toEqual(['check-runs 101', 'log 71']);
    // The run's status comment on the pull request, as for every run of a thread.
    expect(commentsOn(10).at(-1)).toContain(fix!.runId);

    // GitHub Actions tells the same failure as a workflow run too: the same check suite, no second run.
    expect(await h.deliver('workflow_run', workflowFailed(10, sha(10), 101))).toMatchObject({
      statusCode: 202,
      body: { status: 'ignored' },
    });
    await ended(fix!.runId);
    // The same suite told again (another delivery of the event, a new body): still one attempt.
    const again = await h.deliver(
      'check_suite',
      suiteFailed(10, sha(10), 101, (p) => {
        (p.check_suite as { latest_check_runs_count: number }).latest_check_runs_count = 2;
      }),
    );
    expect(again.body).toMatchObject({ status: 'ignored', reason: 'check suite 101 was handled already' });
    expect(await fixRuns(10)).toHaveLength(1);
  });

  test('Given repeated CI failures on a Nightshift PR, When they are delivered, Then at most perCommit fix runs start per head commit and perPullRequest per PR, then one comment for each cap, no run', async () => {
    await nightshiftPull(11, sha(11));
    const failAndEnd = async (suite: number, head: string) => {
      const answer = await h.deliver('check_suite', suiteFailed(11, head, suite));
      if (answer.body.status === 'submitted') await ended(String(answer.body.runId));
      return answer.body;
    };
    expect(await failAndEnd(111, sha(11))).toMatchObject({ status: 'submitted' });
    expect(await failAndEnd(112, sha(11))).toMatchObject({ status: 'submitted' });
    expect(await failAndEnd(113, sha(11))).toMatchObject({
      status: 'refused',
      reason: 'auto-fix reached github.autofix.maxAttempts.perCommit',
      commented: true,
    });
    expect(commentsOn(11).at(-1)).toContain('Nightshift auto-fix stopped');
    expect(commentsOn(11).at(-1)).toContain('`github.autofix.maxAttempts.perCommit`');
    const before = commentsOn(11).length;
    expect(await failAndEnd(114, sha(11))).toMatchObject({ status: 'refused', commented: false });
    expect(commentsOn(11)).toHaveLength(before);

    // A new head commit: the per-commit count starts again, the per-PR one does not.
    h.repo.pulls.get(11)!.headSha = sha(12);
    expect(await failAndEnd(115, sha(12))).toMatchObject({ status: 'submitted' });
    h.repo.pulls.get(11)!.headSha = sha(13);
    expect(await failAndEnd(116, sha(13))).toMatchObject({
      status: 'refused',
      reason: 'auto-fix reached github.autofix.maxAttempts.perPullRequest',
      commented: true,
    });
    expect(commentsOn(11).at(-1)).toContain('`github.autofix.maxAttempts.perPullRequest`');
    expect(await fixRuns(11)).toHaveLength(3);
  });

  test('Given a fork, a branch no Nightshift run pushed, a commit no longer the head or a run of the PR still active, When CI fails, Then no fix run starts', async () => {
    // A fork's pull request (GitHub leaves it out of the event; a forged list is read again).
    h.repo.pulls.set(20, {
      number: 20,
      state: 'open',
      headRef: 'nightshift/pr-20',
      headRepo: 'mallory/web',
      baseRepo: REPO,
      htmlUrl: '',
      headSha: sha(20),
    });
    expect((await h.deliver('check_suite', suiteFailed(20, sha(20), 201))).body).toMatchObject({
      status: 'ignored',
      reason: expect.stringContaining('not the head of an open Nightshift pull request'),
    });
    const forkRun = workflowFailed(20, sha(20), 202);
    forkRun.workflow_run.head_repository.full_name = 'mallory/web';
    expect((await h.deliver('workflow_run', forkRun)).body).toMatchObject({
      status: 'ignored',
      reason: 'the commit is on the fork mallory/web',
    });
    // A person's pull request Nightshift never worked on.
    h.repo.pulls.set(21, {
      number: 21,
      state: 'open',
      headRef: 'nightshift/pr-21',
      headRepo: REPO,
      baseRepo: REPO,
      htmlUrl: '',
      headSha: sha(21),
    });
    expect((await h.deliver('check_suite', suiteFailed(21, sha(21), 211))).body).toMatchObject({ status: 'ignored' });
    // An older commit of a Nightshift pull request.
    await nightshiftPull(22, sha(22));
    expect((await h.deliver('check_suite', suiteFailed(22, sha(99), 221))).body).toMatchObject({ status: 'ignored' });
    // A run of the pull request still at work: its push is checked again.
    await h.deps.submit({
      request: { repo: REPO, prompt: 'More.', branch: 'nightshift/pr-22' },
      requester: 'github:alice',
      source: 'github_comment',
      thread: `${REPO}#22`,
    });
    expect((await h.deliver('check_suite', suiteFailed(22, sha(22), 222))).body).toMatchObject({
      status: 'ignored',
      reason: expect.stringMatching(/^run \w+ of the pull request is still active$/),
    });
    for (const n of [20, 21, 22]) expect(await fixRuns(n)).toHaveLength(0);
  });

  test('Given tests that failed before Nightshift changed the branch, When CI fails, Then one comment says so and no run starts; a test the branch broke gets a run', async () => {
    await nightshiftPull(30, sha(30), { base: ['slugify trims'], head: ['slugify trims'] });
    const answer = await h.deliver('check_suite', suiteFailed(30, sha(30), 301));
    expect(answer.body).toMatchObject({
      status: 'refused',
      reason: 'the failing tests were failing before Nightshift changed the branch',
      commented: true,
    });
    expect(commentsOn(30).at(-1)).toContain('were already failing before Nightshift changed this branch');
    expect(commentsOn(30).at(-1)).toContain('`slugify trims`');
    const count = commentsOn(30).length;
    expect((await h.deliver('workflow_run', workflowFailed(30, sha(30), 302))).body).toMatchObject({ status: 'refused', commented: false });
    expect(commentsOn(30)).toHaveLength(count);
    expect(await fixRuns(30)).toHaveLength(0);
    // A test the branch broke is ours to fix.
    await nightshiftPull(31, sha(31), { base: ['slugify trims'], head: ['slugify trims', 'slugify keeps digits'] });
    expect((await h.deliver('check_suite', suiteFailed(31, sha(31), 311))).body).toMatchObject({ status: 'submitted' });
  });

  test('Given a Nightshift PR, When a writer comments `/nightshift autofix off`, Then CI failures start nothing until `on`; a stranger cannot toggle it', async () => {
    await nightshiftPull(40, sha(40));
    const command = (body: string, login = 'Codertocat') =>
      examplePayload('issue_comment', 'created', (p) => {
        p.issue.number = 40;
        p.issue.pull_request = { url: `https://api.github.com/repos/${REPO}/pulls/40` };
        Object.assign(p.comment, { id: Math.floor(Math.random() * 1e9) + 1, body, user: { login, type: 'User' } });
        Object.assign(p.sender, { login, type: 'User' });
      });
    expect((await h.deliver('issue_comment', command('/nightshift autofix off', 'stranger'))).body).toMatchObject({ status: 'refused' });
    expect((await h.deliver('issue_comment', command('/nightshift autofix off'))).body).toMatchObject({
      status: 'autofix',
      state: 'off',
      thread: `${REPO}#40`,
    });
    expect(commentsOn(40).at(-1)).toContain('Auto-fix is off for this pull request');
    expect((await h.deliver('check_suite', suiteFailed(40, sha(40), 401))).body).toMatchObject({
      status: 'ignored',
      reason: 'auto-fix is off on pull request #40 (/nightshift autofix off)',
    });
    expect((await h.deliver('issue_comment', command('/nightshift autofix on'))).body).toMatchObject({ status: 'autofix', state: 'on' });
    expect((await h.deliver('check_suite', suiteFailed(40, sha(40), 402))).body).toMatchObject({ status: 'submitted' });
  });
});

describe('CI auto-fix with other configurations', () => {
  /** Auto-fix on `h` reading CI from `ci`, and alice's run on pull request #2 (branch `changes`) taken to RUNNING: its id. */
  async function runningOnPull2(h: WebhookHarness, ci: FakeCi): Promise<string> {
    h.deps.autofix = { attempts: createAutofixAttempts(h.db.doc, h.db.names.control), events: h.db.store.events, ci: async () => ci };
    const { runId } = await h.deps.submit({
      request: { repo: REPO, prompt: 'Change it.', branch: 'changes' },
      requester: 'github:alice',
      source: 'github_comment',
      thread: `${REPO}#2`,
    });
    await h.db.store.runs.transition(runId, 'STARTING');
    await h.db.store.runs.transition(runId, 'RUNNING');
    return runId;
  }

  test('Given auto-fix off in the config, When CI fails, Then nothing starts until `/nightshift autofix on` on the pull request', async () => {
    const h = await startWebhookHarness(
      webhookConfig({
        github: { tokenSecret: 'nightshift/github-token', webhookSecret: 'nightshift/gh-webhook', autofix: { enabled: false } },
      }),
    );
    try {
      const ci = new FakeCi();
      const runId = await runningOnPull2(h, ci);
      await h.db.store.runs.transition(runId, 'SUCCEEDED', {
        outcome: 'pr_updated',
        prUrl: `https://github.com/${REPO}/pull/2`,
        finishedAt: new Date().toISOString(),
      });
      const head = h.repo.pulls.get(2)!.headSha!;
      const failed = (id: number) =>
        examplePayload('check_suite', 'completed', (p) => {
          Object.assign(p.check_suite, { id, head_sha: head, conclusion: 'failure', updated_at: new Date().toISOString() });
          p.check_suite.pull_requests[0].head.sha = head;
        });
      expect((await h.deliver('check_suite', failed(1))).body).toMatchObject({
        status: 'ignored',
        reason: 'CI auto-fix is off (github.autofix.enabled) and nobody turned it on for this pull request',
      });
      expect(ci.reads).toEqual([]);
      const on = examplePayload('issue_comment', 'created', (p) => {
        p.issue.number = 2;
        p.issue.pull_request = { url: `https://api.github.com/repos/${REPO}/pulls/2` };
        Object.assign(p.comment, { body: '/nightshift autofix on', user: { login: 'Codertocat', type: 'User' } });
      });
      expect((await h.deliver('issue_comment', on)).body).toMatchObject({ status: 'autofix', state: 'on' });
      expect((await h.deliver('check_suite', failed(2))).body).toMatchObject({ status: 'submitted' });
    } finally {
      await h.stop();
    }
  }, 60_000);

  test("Given Nightshift's own check suite, or one whose only failure is the Nightshift check run, When it is delivered, Then nothing starts and no attempt is counted", async () => {
    const h = await startWebhookHarness(
      webhookConfig({
        github: { appId: 4242, installationId: 1, privateKeySecret: 'nightshift/github-app-key', webhookSecret: 'nightshift/gh-webhook' },
      }),
    );
    try {
      const ci = new FakeCi();
      ci.jobs = [{ id: 9, name: 'Nightshift', conclusion: 'failure', failedSteps: [], summary: 'the run failed', hasLog: false }];
      const runId = await runningOnPull2(h, ci);
      await h.db.store.runs.transition(runId, 'FAILED', {
        prUrl: `https://github.com/${REPO}/pull/2`,
        finishedAt: new Date().toISOString(),
      });
      const head = h.repo.pulls.get(2)!.headSha!;
      const failed = (id: number, appId: number) =>
        examplePayload('check_suite', 'completed', (p) => {
          Object.assign(p.check_suite, {
            id,
            head_sha: head,
            conclusion: 'failure',
            updated_at: new Date().toISOString(),
            app: { id: appId, slug: 'nightshift' },
          });
          p.check_suite.pull_requests[0].head.sha = head;
        });
      expect((await h.deliver('check_suite', failed(1, 4242))).body).toMatchObject({
        status: 'ignored',
        reason: "the check suite is Nightshift's own",
      });
      expect(ci.reads).toEqual([]);
      expect((await h.deliver('check_suite', failed(2, 77))).body).toMatchObject({
        status: 'ignored',
        reason: expect.stringContaining('no failed job other than'),
      });
      expect(ci.reads).toEqual(['check-runs 2']);
      // Nothing was counted: a later real failure of the same commit still gets its attempts.
      expect((await createAutofixAttempts(h.db.doc, h.db.names.control).get(`${REPO}#2`)).total).toBe(0);
    } finally {
      await h.stop();
    }
  }, 60_000);
});
