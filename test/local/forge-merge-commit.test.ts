import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareRepoPath, branchHead, createBareRepoFromDirectory, fileAt, getPull } from '../../local/forge';
import { mergeBranch, MergeConflictError } from '../../local/forge/forge-repositories';
import { protectedPathsOfNightshiftYml } from '../../console/server/nightshift-yml-paths';
import { classifiedRunDiff } from '../../console/server/run-diff';
import { actOnForge, fastSession, sampleRepo, startGithubTestPlatform, untilStatus, ended, type TestPlatform } from './platform-harness';
import { eventually } from '../support/eventually';
import { aliceOpensSlugifyIssue } from '../support/github-issue-run';

/**
 * The local forge's merge when the base branch moved after the pull request was opened (issue 11):
 * GitHub's merge button then writes a merge commit (the fast-forward case is what the other local tests
 * reach). Real git on bare repositories; end to end, a run's draft PR merged that way delivers
 * `pull_request.closed` (merged) and the run's `pr_ready` item closes, with the merge on the run.
 */

/** A commit on `branch` of the bare repository, made through a clone as a person would push it. */
function pushCommit(bare: string, branch: string, file: string, content: string, from = branch): string {
  const work = mkdtempSync(join(tmpdir(), 'ns-merge-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Alice', '-c', 'user.email=alice@example.com', ...args], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  try {
    git('clone', '--quiet', '--branch', from, `file://${bare}`, '.');
    if (from !== branch) git('checkout', '--quiet', '-b', branch);
    writeFileSync(join(work, file), content);
    git('add', file);
    git('commit', '--quiet', '-m', `change ${file}`);
    git('push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`);
    return git('rev-parse', 'HEAD');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
const parentsOf = (bare: string, sha: string) =>
  execFileSync('git', ['--git-dir', bare, 'rev-list', '--parents', '-n', '1', sha], { encoding: 'utf8' }).trim().split(' ').slice(1);

describe('mergeBranch in a bare repository', () => {
  let root: string;
  let bare: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ns-forge-'));
    const seed = mkdtempSync(join(tmpdir(), 'ns-seed-'));
    writeFileSync(join(seed, 'README.md'), 'hello\n');
    bare = createBareRepoFromDirectory(root, 'acme/web', seed);
    rmSync(seed, { recursive: true, force: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('Given a base that has not moved, Then the merge is a fast forward to the head', () => {
    const head = pushCommit(bare, 'feature', 'a.txt', 'a\n', 'main');
    expect(mergeBranch(bare, 'main', 'feature', 'Merge')).toBe(head);
    expect(branchHead(bare, 'main')).toBe(head);
  });

  test('Given a base that moved, Then a merge commit with the old base and the head as parents holds both changes', () => {
    const head = pushCommit(bare, 'feature', 'a.txt', 'a\n', 'main');
    const moved = pushCommit(bare, 'main', 'b.txt', 'b\n');
    const tip = mergeBranch(bare, 'main', 'feature', 'Merge pull request #1 from feature');
    expect(tip).not.toBe(head);
    expect(parentsOf(bare, tip)).toEqual([moved, head]);
    expect(branchHead(bare, 'main')).toBe(tip);
    expect(fileAt(bare, tip, 'a.txt')).toBe('a\n');
    expect(fileAt(bare, tip, 'b.txt')).toBe('b\n');
    expect(execFileSync('git', ['--git-dir', bare, 'log', '-1', '--format=%s', tip], { encoding: 'utf8' }).trim()).toBe(
      'Merge pull request #1 from feature',
    );
  });

  test('Given both sides changed the same line, Then it refuses and the base stays where it was', () => {
    pushCommit(bare, 'feature', 'README.md', 'feature\n', 'main');
    const moved = pushCommit(bare, 'main', 'README.md', 'main\n');
    expect(() => mergeBranch(bare, 'main', 'feature', 'Merge')).toThrow(MergeConflictError);
    expect(branchHead(bare, 'main')).toBe(moved);
  });
});

describe('local mode: a draft PR merged with a merge commit', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startGithubTestPlatform(fastSession);
  }, 240_000);
  afterAll(() => t?.stop());

  const as: ReturnType<typeof actOnForge> = (...args) => actOnForge(t)(...args);

  it('Given an issue run with its draft PR and main moved since, When alice merges it, Then main gets a merge commit, the runs record the merge and the pr_ready item closes', async () => {
    const issue = await aliceOpensSlugifyIssue(t);
    await as('alice', 'POST', `/issues/${issue}/labels`, { labels: ['nightshift'] }, 200);
    const started = await eventually(
      async () => (await t.platform.store.runs.list({ limit: 10 })).runs.find((r) => r.source === 'github_issue'),
      'the issue run',
      60_000,
    );
    const run = await untilStatus(t.client, started.runId, ended, 'the issue run to end', 120_000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', thread: `${sampleRepo}#${issue}` });
    const number = Number(/\/pull\/(\d+)$/.exec(run.prUrl!)![1]);
    const ready = await eventually(
      async () => (await t.client.inbox({ type: 'pr_ready', state: 'all' })).items.find((i) => i.runId === run.runId),
      'the pr_ready item',
      60_000,
    );
    expect(ready.state).toBe('open');

    // The stack's diff route, served in local mode from the synthesized template: the branch facts
    // function reads the forge as it reads GitHub; classified, it is the local console's own diff.
    const viaRoute = await fetch(`${t.platform.url}/v1/runs/${run.runId}/diff`);
    expect(viaRoute.status).toBe(200);
    const text = (await viaRoute.json()) as {
      runId: string;
      base: string;
      head: string;
      diff: string;
      truncated: boolean;
      nightshiftYml: string | null;
    };
    expect(text).toMatchObject({ runId: run.runId, repo: sampleRepo, base: 'main', head: run.branch, truncated: false });
    const consoleDiff = await (await fetch(`${t.platform.url}/_console/runs/${run.runId}/diff`)).json();
    expect(
      classifiedRunDiff({
        repo: sampleRepo,
        base: text.base,
        head: text.head,
        diffText: text.diff,
        protectedPaths: protectedPathsOfNightshiftYml(text.nightshiftYml),
      }),
    ).toEqual(consoleDiff);
    expect(text.diff).toContain('diff --git');

    const bare = bareRepoPath(t.home.forge, sampleRepo);
    const head = branchHead(bare, run.branch!)!;
    const moved = pushCommit(bare, 'main', 'CHANGELOG-main.md', 'changed on main meanwhile\n');

    const answer = (await as('alice', 'PUT', `/pulls/${number}/merge`, {}, 200)) as { sha: string; merged: boolean };
    expect(answer.merged).toBe(true);
    expect(branchHead(bare, 'main')).toBe(answer.sha);
    expect(parentsOf(bare, answer.sha)).toEqual([moved, head]);
    expect(getPull(t.home.forge, sampleRepo, number)).toMatchObject({ state: 'closed', mergedAt: expect.any(String) });
    // A merged pull request is not mergeable again.
    await as('alice', 'PUT', `/pulls/${number}/merge`, {}, 405);

    const closed = await eventually(
      async () =>
        (await t.client.inbox({ type: 'pr_ready', state: 'all' })).items.find((i) => i.itemId === ready.itemId && i.state === 'resolved'),
      'the pr_ready item to close',
      30_000,
    );
    expect(closed).toMatchObject({ resolvedBy: 'nightshift', resolution: { action: 'closed', answer: null, pullRequest: 'merged' } });
    // Recorded on the thread's run (docs/github-app.md#outcomes-pull_requestclosed), shown in the run view.
    expect(await t.client.getRun(run.runId)).toMatchObject({
      thread: `${sampleRepo}#${issue}`,
      pullRequest: { number, state: 'merged', at: expect.any(String) },
    });
    expect(t.platform.forge.deliveries.filter((d) => d.event === 'pull_request' && d.action === 'closed')).toEqual([
      expect.objectContaining({ status: 202 }),
    ]);
  }, 300_000);
});
