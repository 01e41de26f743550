import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceGit } from '../../runner/git/workspace-git';
import { earlierTaskCommit } from '../../runner/session/delivery';

/**
 * A resumed task delivers what the run's earlier tasks pushed (a pause's work in progress), found by
 * the run's trailer on the branch a resumed task clones one commit deep.
 */
describe('earlierTaskCommit', () => {
  const runId = '01JDXKQ1Z8C9V5W3T2R4M6N8P0';
  let root: string;
  let bare: string;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' });
  const commit = (work: string, file: string, message: string) => {
    writeFileSync(join(work, file), `${message}\n`);
    git(work, 'add', file);
    git(work, 'commit', '-q', '-m', message);
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ns-earlier-'));
    const work = join(root, 'work');
    git(root, 'init', '-q', '-b', 'main', work);
    commit(work, 'a.txt', 'base');
    git(work, 'checkout', '-q', '-b', 'nightshift/paused');
    commit(work, 'a.txt', `WIP: fix it\n\nWork in progress, pushed because paused: question.\n\nNightshift-Run: ${runId}`);
    git(work, 'checkout', '-q', '-b', 'nightshift/other-run', 'main');
    commit(work, 'b.txt', 'WIP: another\n\nNightshift-Run: 01JDXKQ1Z8C9V5W3T2R4M6N8P1');
    git(work, 'checkout', '-q', '-b', 'nightshift/human', 'main');
    commit(work, 'c.txt', `a person's commit that quotes no trailer: ${runId}`);
    bare = join(root, 'origin.git');
    git(root, 'clone', '-q', '--bare', work, bare);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const cloneOf = async (branch: string) => {
    const dir = mkdtempSync(join(root, 'task-'));
    const ws = new WorkspaceGit({ gitDir: join(dir, 'git'), workTree: join(dir, 'repo'), home: dir });
    await ws.clone(`file://${bare}`, branch);
    return ws;
  };

  it("Given a branch whose tip is the run's own work in progress, When a resumed task changed nothing, Then that commit is delivered", async () => {
    const ws = await cloneOf('nightshift/paused');
    expect(await earlierTaskCommit(ws, runId)).toBe((await ws.run(['rev-parse', 'HEAD'])).trim());
  });

  it('Given a branch of another run or a commit without the trailer line, When it is asked, Then nothing of this run is found', async () => {
    expect(await earlierTaskCommit(await cloneOf('nightshift/other-run'), runId)).toBeUndefined();
    expect(await earlierTaskCommit(await cloneOf('nightshift/human'), runId)).toBeUndefined();
    expect(await earlierTaskCommit(await cloneOf('main'), runId)).toBeUndefined();
  });
});
