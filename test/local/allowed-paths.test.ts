import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunEvent } from '../../core/runs/schemas';
import { demoAssets } from '../../local/demo';
import { listPulls } from '../../local/forge';
import { bareRepoPath, createBareRepoFromDirectory } from '../../local/forge/forge-repositories';
import { ended, sampleRepo, startTestPlatform, testHome, untilStatus, type TestPlatform } from './platform-harness';

/**
 * `.nightshift.yml` `allowedPaths` end to end in local mode (issue 13 item 5): with `allowedPaths:
 * ["src/**"]`, the agent's write_file and edit_file outside src/ are refused like a protected path,
 * a file the shell writes outside it is left out of the commit, and the change inside it becomes the
 * pull request. Scripted model: allowed-paths.jsonl.
 */
describe('local mode: allowedPaths refuses edits outside them, like protected paths', () => {
  let t: TestPlatform;
  let repoDir: string;
  beforeAll(async () => {
    const { home, configFile } = testHome();
    repoDir = mkdtempSync(join(tmpdir(), 'ns-allowed-repo-'));
    cpSync(demoAssets.sampleRepo, repoDir, { recursive: true });
    writeFileSync(join(repoDir, '.nightshift.yml'), 'allowedPaths: ["src/**"]\n');
    createBareRepoFromDirectory(home.forge, sampleRepo, repoDir, { replace: true });
    t = await startTestPlatform({ session: join(__dirname, 'fixtures', 'allowed-paths.jsonl'), home, configFile });
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(repoDir, { recursive: true, force: true });
  });

  const git = (...args: string[]) =>
    execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, sampleRepo), ...args], { encoding: 'utf8' }).trim();

  it('Given allowedPaths src/**, When the agent edits outside and inside it, Then the edits outside are refused or left out, and the PR carries only src/', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the run to end', 150_000);
    expect({ status: run.status, outcome: run.outcome, error: run.error }).toEqual({
      status: 'SUCCEEDED',
      outcome: 'pr_opened',
      error: null,
    });
    const events: RunEvent[] = (await t.client.events(submitted.runId, { limit: 500 })).events;
    const call = (name: string, path?: string) =>
      events.find(
        (e) =>
          e.type === 'tool_call' &&
          e.detail?.name === name &&
          (path === undefined || (e.detail?.input as { path?: string })?.path === path),
      );
    for (const [name, path] of [
      ['write_file', 'NOTES.md'],
      ['edit_file', 'package.json'],
    ] as const) {
      expect(call(name, path)).toMatchObject({
        detail: { isError: true, output: expect.stringContaining(`refused: ${path} is a protected path (outside allowedPaths: src/**)`) },
      });
    }
    expect(call('edit_file', 'src/slugify.js')).toMatchObject({ detail: { isError: false } });
    expect(
      events.some((e) => e.type === 'note' && /changes to protected paths were left out of the commit: .*outside\.txt/.test(e.message)),
    ).toBe(true);

    // The pushed commit changes src/ only.
    const changed = git('diff', '--name-only', `main...${run.branch!}`).split('\n');
    expect(changed).toEqual(['src/slugify.js']);
    expect(listPulls(t.home.forge, sampleRepo).filter((p) => p.head === run.branch)).toHaveLength(1);
  }, 240_000);
});
