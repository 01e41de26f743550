import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { protectedPathsOfNightshiftYml } from '../../console/server/nightshift-yml-paths';
import { classifiedRunDiff } from '../../console/server/run-diff';
import { lookupCompareDiff } from '../../lambdas/github/branch-facts';
import { demoAssets } from '../../local/demo';
import { createBareRepoFromDirectory, startForge, type ForgeServer } from '../../local/forge';
import { forgeDiffs } from '../../local/console-server';
import { runViewFixture } from '../support/run-view';
import { webhookConfig } from './webhook-harness';

/**
 * The branch facts function's compare diff (GET /v1/runs/{runId}/diff for a deployed stack's console)
 * against a real HTTP server answering the GitHub API (the local forge): GitHub's compare diff and
 * `.nightshift.yml` at the base, text only; classified, it is the same diff local mode's console shows.
 */
describe('compare diff of a run branch', () => {
  const repo = 'demo/sample-app';
  let root: string;
  let forge: ForgeServer;
  const branch = 'nightshift/01J00000000000000000000000-x';
  const deps = () => ({ config: webhookConfig({ repos: [{ name: repo }] }), secrets: async () => '', forgeRoot: root, apiUrl: forge.url });
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ns-compare-'));
    const seed = mkdtempSync(join(tmpdir(), 'ns-seed-'));
    execFileSync('cp', ['-r', `${demoAssets.sampleRepo}/.`, seed]);
    writeFileSync(join(seed, '.nightshift.yml'), 'protectedPaths:\n  - "docs/**"\n');
    const bare = createBareRepoFromDirectory(root, repo, seed);
    rmSync(seed, { recursive: true, force: true });
    const work = mkdtempSync(join(tmpdir(), 'ns-work-'));
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args], {
        cwd: work,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    git('clone', '--quiet', `file://${bare}`, '.');
    git('checkout', '--quiet', '-b', branch);
    execFileSync('mkdir', ['-p', join(work, 'docs')]);
    writeFileSync(join(work, 'docs', 'guide.md'), '# Guide <script>x</script>\n');
    writeFileSync(join(work, 'package-lock.json'), '{"lockfileVersion": 3}\n');
    git('add', '-A');
    git('commit', '--quiet', '-m', 'change');
    git('push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`);
    rmSync(work, { recursive: true, force: true });
    forge = await startForge({ root, port: 0 });
  });
  afterAll(async () => {
    await forge?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('Given a run branch, Then the diff against the default branch and .nightshift.yml at the base come back as text, and classify like the local console', async () => {
    const answer = await lookupCompareDiff(deps(), { kind: 'compareDiff', repo, head: branch });
    expect(answer).toMatchObject({ repository: repo, base: 'main', truncated: false, nightshiftYml: 'protectedPaths:\n  - "docs/**"\n' });
    expect(answer.diff).toContain('+# Guide <script>x</script>');
    expect(JSON.stringify(answer)).not.toMatch(/nsf_|token/i);

    const viaApi = classifiedRunDiff({
      repo,
      base: answer.base,
      head: branch,
      diffText: answer.diff!,
      protectedPaths: protectedPathsOfNightshiftYml(answer.nightshiftYml),
    });
    const local = await forgeDiffs(root).runDiff(runViewFixture({ repo, branch, baseBranch: null }));
    expect(viaApi).toEqual(local);
    expect(viaApi.diff.files.map((f) => [f.path, f.hunks.flatMap((h) => h.lines.flatMap((l) => l.risks.map((r) => r.kind)))[0]])).toEqual([
      ['docs/guide.md', 'protected_path'],
      ['package-lock.json', 'lockfile'],
    ]);
  });

  test('Given a branch that is not there, a base named explicitly or a repository outside the allowlist, When the diff is looked up, Then it is null, against that base, or refused', async () => {
    await expect(lookupCompareDiff(deps(), { kind: 'compareDiff', repo, head: 'nightshift/gone' })).resolves.toMatchObject({
      diff: null,
      truncated: false,
    });
    await expect(lookupCompareDiff(deps(), { kind: 'compareDiff', repo, base: branch, head: branch })).resolves.toMatchObject({
      base: branch,
      diff: '',
    });
    await expect(lookupCompareDiff(deps(), { kind: 'compareDiff', repo: 'demo/other', head: branch })).rejects.toThrow(
      /not in the repos allowlist/,
    );
  });
});
