import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { branchHead, fileAt, listPulls, protectBranch } from '../../local/forge';
import { execFileSync } from 'node:child_process';
import { session, startInProcessRun, startRunnerHarness, writeProject, type RunnerHarness } from './support/runner-harness';
import { toolResultsById } from '../support/tool-results';

/** Tools run as a separate uid only when the tests run as root and the tool user exists (CI). */
const separateToolUser = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('id', ['-u', 'nightshift-tool'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('an agent that attacks the runner through its own workspace', () => {
  let h: RunnerHarness;
  /** The text of a tool result of the hostile run, once the first test ran it. */
  let toolText: ((id: string) => string | undefined) | undefined;
  const secret = `CANARY-token-${randomBytes(12).toString('hex')}`;
  beforeAll(async () => {
    // Given a repository with a file that holds a secret value (as a setup command might have written)
    const project = writeProject(mkdtempSync(join(tmpdir(), 'nightshift-hostile-')), { 'config/token.txt': `${secret}\n` });
    h = await startRunnerHarness({ project });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('Given an agent that makes special files and links and a hostile summary, When it runs, Then it gets refusals, never sees a secret, commits no escaping symlink, and the PR body fetches nothing', async () => {
    const run = await h.createRun({ prompt: 'Poke at the runner' });
    const baseAdd = fileAt(h.bare, 'main', 'src/add.js');

    // When the agent makes a FIFO, hard link and symlinks, reads them, and finishes with a hostile summary
    const { end, provider } = await startInProcessRun(h, run.runId, session('hostile-agent'), { secrets: [secret] }).done;
    expect(end.kind).toBe('succeeded');
    const byId = toolResultsById(provider.requests);
    const text = (id: string) => byId.get(id)!.content[0]!.text;
    toolText = text;

    // Then a FIFO is refused at once (the runner did not block on it), and so is a file with two links, read or written
    expect(text('tooluse_02')).toMatch(/not a regular file/);
    expect(text('tooluse_03')).toMatch(/more than one hard link/);
    expect(text('tooluse_04')).toMatch(/more than one hard link/);
    const branch = (await h.db.store.runs.get(run.runId))!.branch!;
    expect(fileAt(h.bare, branch, 'src/add.js')).toBe(baseAdd);

    // and no tool output carried the secret into the conversation, though the agent printed it twice
    expect(JSON.stringify(provider.requests)).not.toContain(secret);
    expect(text('tooluse_01')).toContain('listed');
    expect(text('tooluse_05')).not.toContain(secret);

    // and symlinks that leave the repository are left out of the commit; one inside it is kept
    expect(() => fileAt(h.bare, branch, 'abs-link')).toThrow();
    expect(() => fileAt(h.bare, branch, 'up-link')).toThrow();
    expect(execFileSync('git', ['ls-tree', branch, 'in-link'], { cwd: h.bare, encoding: 'utf8' })).toMatch(/^120000 /);
    const events = (await h.db.store.events.list(run.runId, { limit: 200 })).events;
    expect(
      events.some(
        (e) =>
          e.message.startsWith('symlinks pointing outside the repository were left out of the commit: ') &&
          e.message.includes('abs-link') &&
          e.message.includes('up-link'),
      ),
    ).toBe(true);

    // and the PR body cannot make GitHub fetch an image, render HTML, link outside, or mention anyone
    const pr = listPulls(h.forgeRoot, 'demo/sample-app').find((p) => p.head === branch)!;
    const outsideCode = pr.body.replace(/`[^`]*`/g, '');
    expect(outsideCode).not.toMatch(/!\[/);
    expect(outsideCode).not.toMatch(/<img/i);
    expect(outsideCode).not.toContain('https://evil.example');
    expect(outsideCode).not.toContain('@octocat');
    expect(pr.body).toContain('`https://evil.example/more,`');
    expect(branchHead(h.bare, 'main')).toBeDefined();
  });

  // Only a separate tool uid makes the runner's git directory unreadable: as another user the tools run as the runner.
  (separateToolUser ? it : it.skip)(
    "Given a separate tool user (needs root and the nightshift-tool user, as in CI), When the agent lists the runner's git directory, Then the file system refuses it",
    () => {
      // Then the listing the agent asked for of the git directory was refused by the file system
      expect(toolText).toBeDefined();
      expect(toolText!('tooluse_01')).toMatch(/Permission denied/);
    },
  );
});

describe('the settings of a continued branch come from the default branch', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('Given a .nightshift.yml an agent wrote on its branch, When a run continues that branch, Then the setup and test commands come from the default branch, not it', async () => {
    // Given a nightshift/ branch whose .nightshift.yml names its own setup and test commands
    const work = mkdtempSync(join(tmpdir(), 'nightshift-continued-'));
    execFileSync('git', ['clone', '--quiet', h.bare, work]);
    execFileSync('git', ['checkout', '--quiet', '-b', 'nightshift/earlier-run'], { cwd: work });
    const marker = join(work, '..', `pwned-${randomBytes(4).toString('hex')}`);
    writeFileSync(join(work, '.nightshift.yml'), `setup:\n  - "touch ${marker}"\ntest: "echo agent-chosen-tests"\n`);
    execFileSync('git', ['add', '.nightshift.yml'], { cwd: work });
    execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '--quiet', '-m', 'agent settings'], { cwd: work });
    execFileSync('git', ['push', '--quiet', 'origin', 'nightshift/earlier-run'], { cwd: work });

    // When a run continues that branch
    const run = await h.createRun({ branch: 'nightshift/earlier-run', prompt: 'Fix the failing add test' });
    const { end, traceDir } = await startInProcessRun(h, run.runId, session('fix-failing-test')).done;

    // Then the branch's setup never ran, and the tests are the config's, not the branch's
    expect(end.kind).toBe('succeeded');
    expect(existsSync(marker)).toBe(false);
    const trace = readFileSync(join(traceDir, run.runId, 'trace.jsonl'), 'utf8');
    expect(trace).not.toContain('agent-chosen-tests');
    const events = (await h.db.store.events.list(run.runId, { limit: 200 })).events;
    expect(
      events.some(
        (e) => e.message === '.nightshift.yml read from the default branch main, not from the continued branch nightshift/earlier-run',
      ),
    ).toBe(true);
  });
});

describe('a run never pushes to a branch that is not its own (invariant 7)', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
    // A protected branch and an alias of main, beside main, in the forge
    const work = mkdtempSync(join(tmpdir(), 'nightshift-branches-'));
    execFileSync('git', ['clone', '--quiet', h.bare, work]);
    execFileSync('git', ['push', '--quiet', 'origin', 'main:refs/heads/release', 'main:refs/heads/feature/x'], { cwd: work });
    protectBranch(h.bare, 'release');
    execFileSync('git', ['symbolic-ref', 'refs/heads/nightshift/alias', 'refs/heads/main'], { cwd: h.bare });
  });
  afterAll(async () => {
    await h.stop();
  });

  it.each([
    ['the default branch', { branch: 'main', baseBranch: 'release' }, /default branch/],
    ['the default branch in other case', { branch: 'MAIN', baseBranch: 'release' }, /default branch/],
    ['the base branch', { branch: 'feature/x', baseBranch: 'feature/x' }, /base branch/],
    ['a protected branch', { branch: 'release' }, /protected branch/],
    ['an alias of main', { branch: 'nightshift/alias' }, /alias of refs\/heads\/main/],
    ['a branch that heads no open PR', { branch: 'feature/x' }, /neither a nightshift\/ branch nor the head branch/],
  ])('Given a run continuing %s, When it runs, Then it fails branch_not_allowed and writes nothing', async (_what, overrides, reason) => {
    const heads = Object.fromEntries(['main', 'release', 'feature/x'].map((b) => [b, branchHead(h.bare, b)]));
    const run = await h.createRun(overrides);
    const { end } = await startInProcessRun(h, run.runId, session('fix-failing-test')).done;
    expect(end).toMatchObject({ kind: 'failed', error: 'Nightshift.RunFailed' });
    expect(end.kind === 'failed' && end.cause).toMatch(/^branch_not_allowed: refusing to push: /);
    expect(end.kind === 'failed' && end.cause).toMatch(reason);
    for (const [b, sha] of Object.entries(heads)) expect(branchHead(h.bare, b)).toBe(sha);
    expect(listPulls(h.forgeRoot, 'demo/sample-app')).toEqual([]);
  });
});
