import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceGit } from '../../runner/git/workspace-git';
import { continuedBranchDiff, MAX_BRANCH_DIFF_CHARS } from '../../runner/session/branch-diff';

/** Real git: an origin bare repository, cloned one commit deep the way the runner clones. */
describe('a continued branch diff against its base', () => {
  let root: string;
  let bare: string;
  let forkPoint: string;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args], {
      cwd,
      encoding: 'utf8',
    }).trim();
  const commitFile = (dir: string, file: string, content: string, message: string) => {
    writeFileSync(join(dir, file), content);
    git(dir, 'add', file);
    git(dir, 'commit', '-q', '-m', message);
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'branch-diff-'));
    const work = join(root, 'work');
    mkdirSync(work);
    git(work, 'init', '-q');
    commitFile(work, 'base.txt', 'base\n', 'base');
    for (let i = 0; i < 200; i++) git(work, 'commit', '-q', '--allow-empty', '-m', `base ${i}`);
    forkPoint = git(work, 'rev-parse', 'HEAD');
    // the branch: 40 commits, more than the first deepening step reaches
    git(work, 'checkout', '-q', '-b', 'nightshift/r1-feature');
    for (let i = 0; i < 40; i++) commitFile(work, 'feature.txt', `feature line ${i}\n`, `feature ${i}`);
    // a huge change on another branch, for the bound
    git(work, 'checkout', '-q', '-b', 'nightshift/r2-huge', forkPoint);
    commitFile(work, 'huge.txt', Array.from({ length: 5_000 }, (_, i) => `line ${i}`).join('\n'), 'huge');
    // an unrelated history
    git(work, 'checkout', '-q', '--orphan', 'nightshift/r3-orphan');
    git(work, 'rm', '-q', '-rf', '.');
    commitFile(work, 'other.txt', 'other\n', 'orphan');
    // the base moves on after the fork: its later changes are not the branch's
    git(work, 'checkout', '-q', 'main');
    for (let i = 0; i < 5; i++) commitFile(work, 'later-on-main.txt', `main ${i}\n`, `main later ${i}`);
    bare = join(root, 'origin.git');
    git(root, 'clone', '-q', '--bare', work, bare);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const cloneOf = async (branch: string) => {
    const dir = mkdtempSync(join(root, 'run-'));
    const ws = new WorkspaceGit({ gitDir: join(dir, 'git'), workTree: join(dir, 'repo'), home: dir });
    await ws.clone(`file://${bare}`, branch);
    return ws;
  };

  it('Given a clone one commit deep of a continued branch, When its diff against the base is read, Then the clone is deepened until the branch meets its base and only what the branch changed is shown', async () => {
    const ws = await cloneOf('nightshift/r1-feature');
    // Given a clone one commit deep: the base is not in it
    expect(await ws.run(['rev-list', '--count', 'HEAD'])).toBe('1\n');
    const diff = await continuedBranchDiff(ws, 'nightshift/r1-feature', 'main');
    expect(diff.base).toBe(`main (merge base ${forkPoint.slice(0, 12)})`);
    expect(diff.text).toContain('Commits:\n');
    expect(diff.text).toContain('feature 39');
    expect(diff.text).toContain('… more commits');
    expect(diff.text).toContain('feature.txt | 1 +');
    expect(diff.text).toContain('+feature line 39');
    // what main did after the fork is not the branch's change
    expect(diff.text).not.toContain('later-on-main');
    // bounded: the whole history was not fetched (201 base commits, 40 on the branch, 5 later on main)
    const fetched = Number(await ws.run(['rev-list', '--count', '--all']));
    expect(fetched).toBeLessThan(150);
  });

  it('Given a large change on the branch, When its diff is read, Then it is bounded, naming every file in the stat first', async () => {
    const ws = await cloneOf('nightshift/r2-huge');
    const diff = await continuedBranchDiff(ws, 'nightshift/r2-huge', 'main');
    expect(diff.text.length).toBeLessThanOrEqual(MAX_BRANCH_DIFF_CHARS + 100);
    expect(diff.text).toContain('huge.txt | 5000 +');
    expect(diff.text).toMatch(/\[the rest of the diff is not shown; read the files named in the stat above\]$/);
  });

  it('Given a branch that shares no history with its base within the bound, When its diff is read, Then it says so', async () => {
    const ws = await cloneOf('nightshift/r3-orphan');
    const diff = await continuedBranchDiff(ws, 'nightshift/r3-orphan', 'main');
    expect(diff).toEqual({
      base: 'main',
      text: "(no common ancestor with main within 337 commits of either tip: the branch's changes cannot be shown)",
    });
  });
});
