import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../../cli/program';
import { bareRepoPath, branchHead, branchLog, createBareRepoFromDirectory, listCheckRuns, listComments } from '../../local/forge';
import { demoAssets } from '../../local/demo';
import { sampleRepo, startTestPlatform, testHome, type TestPlatform } from './platform-harness';
import { localFixture } from '../support/test-config';
import { eventually } from '../support/eventually';
import { isTerminal, type RunStatus } from '../../core/runs/lifecycle';

const session = join(__dirname, '..', 'fixtures', 'sessions', 'append-note.jsonl');
/** A second repository whose tests fail at base (the sample app's slugify tests) and are not fixed by the runs. */
const failingRepo = 'demo/failing-app';

/**
 * CI auto-fix end to end in local mode (issue 15 item 2): a Nightshift pull request on the local forge,
 * CI failing on its head (the forge records the workflow run with its job log and delivers both
 * `check_suite` and `workflow_run` completed, as GitHub Actions does), a fix run on the same branch
 * with the log in its task, a new commit on the same pull request; past the cap, one comment, no run.
 */
describe('CI auto-fix in local mode', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    const base = localFixture();
    const config = {
      ...base,
      repos: [
        { ...base.repos[0]!, test: 'true' },
        { name: failingRepo, test: 'npm test', budgetUsd: 1, maxMinutes: 3 },
      ],
      github: {
        tokenSecret: 'nightshift/github-token',
        webhookSecret: 'nightshift/gh-webhook',
        autofix: { maxAttempts: { perCommit: 1, perPullRequest: 2 } },
      },
    };
    const prepared = testHome(config);
    createBareRepoFromDirectory(prepared.home.forge, failingRepo, demoAssets.sampleRepo);
    t = await startTestPlatform({ session, ...prepared });
  }, 240_000);
  afterAll(() => t?.stop());

  const runs = async (repo = sampleRepo) => (await t.platform.store.runs.list({ limit: 100 })).runs.filter((r) => r.repo === repo);
  const ended = (status: string) => isTerminal(status as RunStatus);
  const failCi = (repo: string, head: string, branch: string, line: string) =>
    t.platform.forge.reportCi(repo, {
      headSha: head,
      headBranch: branch,
      jobs: [
        { name: 'lint', conclusion: 'success', steps: [{ name: 'Run lint', conclusion: 'success' }], log: 'all clean' },
        {
          name: 'unit tests',
          conclusion: 'failure',
          steps: [
            { name: 'Checkout', conclusion: 'success' },
            { name: 'Run npm test', conclusion: 'failure' },
          ],
          log: `2026-12-03T10:00:00.0000000Z \u001b[31m${line}\u001b[0m\nToken ghp_${'Z9'.repeat(18)} leaked\nError: Process completed with exit code 1.`,
        },
      ],
    });

  it('Given a Nightshift PR, When CI fails on its head, Then one fix run starts on its branch with the log and pushes a new commit to the same PR; When CI fails past the cap, Then a comment is posted and no run starts', async () => {
    const { runId } = await t.client.submit({ repo: sampleRepo, prompt: 'Keep a notes file.' }, { source: 'api' });
    const opener = await eventually(
      async () => (await runs()).find((r) => r.runId === runId && ended(r.status)),
      'the first run to end',
      120_000,
    );
    expect(opener).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened' });
    const pr = Number(/\/pull\/(\d+)$/.exec(opener.prUrl!)![1]);
    const bare = bareRepoPath(t.home.forge, sampleRepo);
    const branch = opener.branch!;
    const h1 = branchHead(bare, branch)!;
    const commits = branchLog(bare, branch).length;

    // CI fails on h1: the forge tells it twice (check suite and workflow run); one fix run starts.
    failCi(sampleRepo, h1, branch, '✕ notes are sorted');
    const fix = await eventually(
      async () => (await runs()).find((r) => r.source === 'github_ci' && ended(r.status)),
      'the fix run to end',
      120_000,
    );
    await t.platform.forge.idle();
    expect((await runs()).filter((r) => r.source === 'github_ci')).toHaveLength(1);
    expect(fix).toMatchObject({
      status: 'SUCCEEDED',
      outcome: 'pr_updated',
      branch,
      prUrl: opener.prUrl,
      thread: `${sampleRepo}#${pr}`,
      requester: opener.requester,
    });
    // Whichever of the twins came first: the workflow run names its workflow and failed step, the check suite its check run.
    expect(fix.prompt).toMatch(new RegExp(`^CI failed \\(failure\\) on commit ${h1}( \\(CI\\))?, the head of pull request #${pr} `));
    expect(fix.prompt).toMatch(/Failing job "unit tests" \(failure\)(; failed step: Run npm test)?\. The end of its log:/);
    expect(fix.prompt).toContain('✕ notes are sorted\nToken [REDACTED] leaked');
    expect(fix.prompt).not.toContain('all clean');
    const h2 = branchHead(bare, branch)!;
    expect(h2).not.toBe(h1);
    expect(branchLog(bare, branch)).toHaveLength(commits + 1);
    // Both deliveries were answered: one submitted the run, its twin (the same check suite) started nothing.
    const answers = t.platform.forge.deliveries.filter((d) => d.event === 'check_suite' || d.event === 'workflow_run');
    expect(answers.map((d) => d.status).sort()).toEqual([202, 202]);
    expect(answers.filter((d) => d.answer.includes('"status":"submitted"'))).toHaveLength(1);

    // Visible as other runs from GitHub: its status comment and the Nightshift check run on the new head.
    await eventually(
      () => listComments(t.home.forge, sampleRepo, pr).find((c) => c.body.includes(fix.runId) && c.body.includes('pushed new commits')),
      'the fix run status comment',
      60_000,
    );
    const check = await eventually(
      () => listCheckRuns(t.home.forge, sampleRepo).find((c) => c.externalId === fix.runId && c.status === 'completed'),
      'the fix run check run',
      60_000,
    );
    expect(check.headSha).toBe(h2);
    // The CLI shows where it came from.
    const out: string[] = [];
    expect(await runCli(['--api', t.platform.url, 'status', fix.runId], { out: (s) => out.push(s), err: (s) => out.push(s) })).toBe(0);
    expect(out.join('\n')).toMatch(/source\s+github_ci/);

    // CI fails on h2: the second (and last, perPullRequest 2) fix run.
    failCi(sampleRepo, h2, branch, '✕ notes end with a newline');
    const second = await eventually(
      async () => (await runs()).find((r) => r.source === 'github_ci' && r.runId !== fix.runId && ended(r.status)),
      'the second fix run to end',
      120_000,
    );
    expect(second).toMatchObject({ status: 'SUCCEEDED', branch });
    expect(second.prompt).toContain('This is auto-fix attempt 1 of at most 1 for this commit, and 2 of at most 2 for the pull request.');
    const h3 = branchHead(bare, branch)!;
    await t.platform.forge.idle();

    // A third failure is past the cap: one comment, no run.
    failCi(sampleRepo, h3, branch, '✕ still failing');
    await t.platform.forge.idle();
    const stopped = await eventually(
      () => listComments(t.home.forge, sampleRepo, pr).find((c) => c.body.startsWith('Nightshift auto-fix stopped')),
      'the cap comment',
      30_000,
    );
    expect(stopped.body).toContain('github.autofix.maxAttempts.perPullRequest');
    expect((await runs()).filter((r) => r.source === 'github_ci')).toHaveLength(2);
    expect(branchHead(bare, branch)).toBe(h3);
  }, 420_000);

  it('Given a failure the tests already had at base, When CI fails on the PR, Then it is reported on the PR and not "fixed": no run, no commit', async () => {
    const { runId } = await t.client.submit({ repo: failingRepo, prompt: 'Keep a notes file.' }, { source: 'api' });
    const opener = await eventually(
      async () => (await runs(failingRepo)).find((r) => r.runId === runId && ended(r.status)),
      'the run to end',
      120_000,
    );
    const pr = Number(/\/pull\/(\d+)$/.exec(opener.prUrl!)![1]);
    const head = branchHead(bareRepoPath(t.home.forge, failingRepo), opener.branch!)!;
    failCi(failingRepo, head, opener.branch!, '✕ slugify collapses separators');
    await t.platform.forge.idle();
    const said = await eventually(
      () =>
        listComments(t.home.forge, failingRepo, pr).find((c) =>
          c.body.includes('were already failing before Nightshift changed this branch'),
        ),
      'the pre-existing failure comment',
      30_000,
    );
    expect(said.body).toContain(opener.runId);
    expect((await runs(failingRepo)).filter((r) => r.source === 'github_ci')).toHaveLength(0);
    expect(
      execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, failingRepo), 'rev-parse', `refs/heads/${opener.branch!}`], {
        encoding: 'utf8',
      }).trim(),
    ).toBe(head);
  }, 200_000);
});
