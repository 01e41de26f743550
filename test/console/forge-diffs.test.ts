import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunView } from '../../core/runs/schemas';
import { bareRepoPath, createBareRepoFromDirectory } from '../../local/forge';
import { savePull } from '../../local/forge/forge-records';
import { forgeDiffs } from '../../local/console-server';
import { gitEnvAs } from '../support/git-env';

/** Local mode's diffs: real git in a bare forge repository, the repository's own protected paths applied. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: gitEnvAs('t', 't@t'),
  });
}

const repo = 'acme/app';
const branch = 'nightshift/01J00000000000000000000000-change';

function run(overrides: Partial<RunView>): RunView {
  return {
    runId: '01J00000000000000000000000',
    repo,
    status: 'SUCCEEDED',
    outcome: 'pr_opened',
    source: 'api',
    kind: 'change',
    priority: 'normal',
    pr: null,
    requester: 'local:t',
    prompt: 'p',
    baseBranch: null,
    issue: null,
    labels: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    branch,
    prUrl: null,
    budgetUsd: 1,
    costUsd: 0,
    maxMinutes: 5,
    tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    queuePosition: null,
    queueReason: null,
    cancelRequested: false,
    error: null,
    thread: null,
    pullRequest: null,
    automaticResumes: null,
    ...overrides,
  };
}

describe('forgeDiffs', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ns-forge-diffs-'));
    const seed = join(root, 'seed');
    mkdirSync(join(seed, 'config'), { recursive: true });
    writeFileSync(join(seed, '.nightshift.yml'), 'protectedPaths:\n  - "config/**"\n');
    writeFileSync(join(seed, 'config', 'app.json'), '{"debug": false}\n');
    writeFileSync(join(seed, 'README.md'), 'hello\n');
    const forge = join(root, 'forge');
    createBareRepoFromDirectory(forge, repo, seed);
    const work = join(root, 'work');
    git(root, 'clone', '--quiet', bareRepoPath(forge, repo), work);
    git(work, 'checkout', '--quiet', '-b', branch);
    writeFileSync(join(work, 'config', 'app.json'), '{"debug": true}\n');
    writeFileSync(join(work, 'README.md'), 'hello world\n');
    git(work, 'add', '--all');
    git(work, 'commit', '--quiet', '-m', 'change');
    git(work, 'push', '--quiet', 'origin', branch);
    savePull(forge, repo, {
      title: 'Change <b>it</b>',
      body: '## Summary\nchanged',
      head: branch,
      base: 'main',
      draft: true,
      state: 'open',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("Given a run branch and the base branch's .nightshift.yml, When its diff is read, Then the protected paths are marked and other files left alone", async () => {
    const diff = await forgeDiffs(join(root, 'forge')).runDiff(run({}));
    expect(diff).toMatchObject({ repo, base: 'main', head: branch });
    const files = diff!.diff.files.map((f) => [f.path, f.risks.map((r) => r.kind)]);
    expect(files).toEqual([
      ['README.md', []],
      ['config/app.json', ['protected_path']],
    ]);
    expect(diff!.diff.riskyLines).toBe(2);
  });

  it('Given a run without a branch, with a branch the forge lacks, or of a repository it lacks, When its diff is read, Then there is none', async () => {
    const diffs = forgeDiffs(join(root, 'forge'));
    await expect(diffs.runDiff(run({ branch: null }))).resolves.toBeUndefined();
    await expect(diffs.runDiff(run({ branch: 'nightshift/gone' }))).resolves.toBeUndefined();
    await expect(diffs.runDiff(run({ repo: 'acme/other' }))).resolves.toBeUndefined();
  });

  it('Given a pull request on the forge, When it is read, Then its body comes untouched with its diff; an unknown one is none', async () => {
    const pull = await forgeDiffs(join(root, 'forge')).pull(repo, 1);
    expect(pull).toMatchObject({
      number: 1,
      title: 'Change <b>it</b>',
      body: '## Summary\nchanged',
      draft: true,
      base: 'main',
      head: branch,
    });
    expect(pull!.diff.files).toHaveLength(2);
    await expect(forgeDiffs(join(root, 'forge')).pull(repo, 2)).resolves.toBeUndefined();
  });
});
