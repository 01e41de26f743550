import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupBranchFacts } from '../../lambdas/github/branch-facts';
import { demoAssets } from '../../local/demo';
import { createBareRepoFromDirectory, protectBranch, startForge, type ForgeServer } from '../../local/forge';
import { webhookConfig } from './webhook-harness';

/**
 * The branch facts function against a real HTTP server answering the GitHub API (the local forge):
 * facts only, never the token it minted for its calls; an alias answers as its target; only an
 * allowlisted repository is asked about.
 */
describe('branch facts', () => {
  const repo = 'demo/sample-app';
  let root: string;
  let forge: ForgeServer;
  const deps = () => ({ config: webhookConfig({ repos: [{ name: repo }] }), secrets: async () => '', forgeRoot: root, apiUrl: forge.url });
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ns-facts-'));
    const bare = createBareRepoFromDirectory(root, repo, demoAssets.sampleRepo);
    execFileSync('git', ['branch', 'release', 'main'], { cwd: bare });
    protectBranch(bare, 'release');
    execFileSync('git', ['symbolic-ref', 'refs/heads/nightshift/alias', 'refs/heads/main'], { cwd: bare });
    forge = await startForge({ root, port: 0 });
  });
  afterAll(async () => {
    await forge?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('Given branches of an allowed repository, When their facts are looked up, Then the default branch, existence, the answered name, protection and PR head come back, and no token', async () => {
    const answers = await Promise.all(
      ['release', 'nightshift/alias', 'nightshift/new'].map((branch) => lookupBranchFacts(deps(), { kind: 'branchFacts', repo, branch })),
    );
    expect(answers).toEqual([
      { repository: repo, defaultBranch: 'main', branch: { exists: true, name: 'release', protected: true }, openPullRequestHead: false },
      { repository: repo, defaultBranch: 'main', branch: { exists: true, name: 'main', protected: false }, openPullRequestHead: false },
      { repository: repo, defaultBranch: 'main', branch: { exists: false, name: null, protected: false }, openPullRequestHead: false },
    ]);
    expect(JSON.stringify(answers)).not.toMatch(/nsf_|token/i);
  });

  test('Given a repository outside the allowlist, a request of another kind or a full ref, When branch facts are looked up, Then they are refused', async () => {
    await expect(lookupBranchFacts(deps(), { kind: 'branchFacts', repo: 'demo/other', branch: 'x' })).rejects.toThrow(
      /not in the repos allowlist/,
    );
    await expect(lookupBranchFacts(deps(), { kind: 'webhookToken', repo })).rejects.toThrow();
    await expect(lookupBranchFacts(deps(), { kind: 'branchFacts', repo, branch: 'refs/heads/main' })).rejects.toThrow(/refs\//);
  });
});
