import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoAssets } from '../../local/demo';
import { branchLog } from '../../local/forge';
import { bareRepoPath } from '../../local/forge/forge-repositories';
import { resolveHome } from '../../local/home';
import { cliBin, repoRoot, runCli, startDevProcess, stopDevProcess, type DevProcess } from '../local/dev-process';
import { fastSession } from '../local/platform-harness';
import { localFixture } from '../support/test-config';
import { gitEnvAs } from '../support/git-env';

const gitEnv = gitEnvAs('Me', 'me@example.com');
const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' });

/** `nightshift forge add` as a person types it, in `cwd`, against the home `home`. */
function forgeAdd(args: string[], home: string, cwd = repoRoot) {
  try {
    const stdout = execFileSync(process.execPath, [cliBin, 'forge', 'add', ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NIGHTSHIFT_HOME: home },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { code: failed.status, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A repository of the user's own: a git checkout with two commits (the sample app's files, then a README line). */
function ownCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ns-own-repo-'));
  cpSync(demoAssets.sampleRepo, dir, { recursive: true });
  git(['init', '--quiet', '--initial-branch', 'main'], dir);
  git(['add', '--all'], dir);
  git(['commit', '--quiet', '-m', 'My app'], dir);
  writeFileSync(join(dir, 'NOTES.md'), 'mine\n');
  git(['add', 'NOTES.md'], dir);
  git(['commit', '--quiet', '-m', 'Notes'], dir);
  return dir;
}

/** Issue 16: a newcomer runs the agent on a repository of their own in local mode (README, docs/local-mode.md). */
describe('nightshift forge add', () => {
  const dirs: string[] = [];
  let dev: DevProcess | undefined;
  afterAll(async () => {
    if (dev) await stopDevProcess(dev.child);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };

  it('Given a directory that is not a git work tree, a bad name or a name the forge has, When forge add runs, Then it refuses in one line and writes nothing', () => {
    const home = tempDir('ns-add-home-');
    const plain = tempDir('ns-not-git-');
    writeFileSync(join(plain, 'index.js'), '1\n');

    const notGit = forgeAdd(['me/plain', plain], home);
    expect(notGit.code).toBe(1);
    expect(notGit.stderr).toBe(`error: ${plain} is not a git work tree (run git init and commit your files first)\n`);
    const badName = forgeAdd(['my-app', plain], home);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/^error: "my-app" is not a repository name: use owner\/name/);
    expect(readdirSync(home)).toEqual([]);

    const checkout = ownCheckout();
    dirs.push(checkout);
    const empty = tempDir('ns-no-commit-');
    git(['init', '--quiet'], empty);
    expect(forgeAdd(['me/empty', empty], home).stderr).toBe(`error: ${empty} has no commit yet (commit your files first)\n`);
    expect(readdirSync(home)).toEqual([]);

    expect(forgeAdd(['me/app'], home, checkout).code).toBe(0);
    const bare = bareRepoPath(resolveHome(home).forge, 'me/app');
    const before = branchLog(bare, 'main');
    const again = forgeAdd(['Me/App', checkout], home);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`error: the forge already has Me/App (${bare})\n`);
    expect(branchLog(bare, 'main')).toEqual(before);
  });

  it('Given a git checkout of my own, When I add it to the forge, configure the printed entry and submit a run, Then the run opens a PR on my repository with its history', async () => {
    const home = tempDir('ns-add-home-');
    const checkout = ownCheckout();
    dirs.push(checkout);
    const added = forgeAdd(['me/my-app'], home, checkout);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^added me\/my-app to the local forge \(.+\/forge\/me\/my-app\.git\), branch main at [0-9a-f]{12}$/m);
    const entry = JSON.parse(added.stdout.slice(added.stdout.indexOf('{'))) as unknown;
    expect(entry).toEqual({ name: 'me/my-app', test: 'npm test' });
    // Its history came along: both commits, newest first.
    expect(branchLog(bareRepoPath(resolveHome(home).forge, 'me/my-app'), 'main', '%s')).toEqual(['Notes', 'My app']);

    const configFile = join(home, 'nightshift.config.json');
    writeFileSync(configFile, JSON.stringify({ ...localFixture(), repos: [{ ...(entry as object), budgetUsd: 1, maxMinutes: 3 }] }));
    dev = await startDevProcess({ home: resolveHome(home), configFile, session: fastSession });
    const submitted = runCli(['submit', 'me/my-app', 'Fix slugify so the tests pass.', '--wait'], dev.url);
    expect(submitted.code).toBe(0);
    const runId = /^([0-9A-Z]{26}) SUCCEEDED/m.exec(submitted.stdout)![1]!;
    const pr = runCli(['pr', runId], dev.url);
    expect(pr.code).toBe(0);
    expect(pr.stdout).toMatch(new RegExp(`^nightshift/${runId}-\\S+ → main · http://127\\.0\\.0\\.1:\\d+/me/my-app/pull/1$`, 'm'));
    expect(pr.stdout).toMatch(/^diff --git a\/src\/slugify\.js b\/src\/slugify\.js$/m);
  }, 180_000);
});
