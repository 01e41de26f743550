import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunEvent, RunView } from '../../core/runs/schemas';
import { demoAssets } from '../../local/demo';
import { listPulls } from '../../local/forge';
import { bareRepoPath, createBareRepoFromDirectory } from '../../local/forge/forge-repositories';
import { ended, sampleRepo, startTestPlatform, testHome, untilStatus, type TestPlatform } from './platform-harness';

/**
 * Local mode over HTTP, with a scripted model (plan-then-risky.jsonl): a plan run explores, its
 * early edit is refused, it proposes a plan and waits (plan_approval); approved, it runs a command
 * that `.nightshift.yml` `approvalRequired` names and waits again (risky_action) before the command runs.
 */
describe('local mode: plan approval and risky actions through the one pause mechanism', () => {
  let t: TestPlatform;
  let repoDir: string;
  const RISKY = 'echo released >> CHANGELOG.md';
  beforeAll(async () => {
    const { home, configFile } = testHome();
    repoDir = mkdtempSync(join(tmpdir(), 'ns-plan-repo-'));
    cpSync(demoAssets.sampleRepo, repoDir, { recursive: true });
    writeFileSync(join(repoDir, '.nightshift.yml'), 'approvalRequired:\n  commands: ["echo released*"]\n  paths: ["release/**"]\n');
    createBareRepoFromDirectory(home.forge, sampleRepo, repoDir, { replace: true });
    t = await startTestPlatform({ session: join(__dirname, 'fixtures', 'plan-then-risky.jsonl'), home, configFile });
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(repoDir, { recursive: true, force: true });
  });

  const allEvents = async (runId: string): Promise<RunEvent[]> => (await t.client.events(runId, { limit: 500 })).events;
  /** Waits for the run's next pause and returns its item id and the checkpoint the runner stored. */
  const nextPause = async (runId: string, count: number): Promise<{ run: RunView; itemId: string; checkpoint: string }> => {
    const run = await untilStatus(t.client, runId, (r) => ended(r) || r.status === 'WAITING_FOR_HUMAN', `pause ${count}`, 90_000);
    expect(run.status).toBe('WAITING_FOR_HUMAN');
    const events = await allEvents(runId);
    const pauses = events.filter((e) => e.type === 'status' && e.detail?.to === 'WAITING_FOR_HUMAN');
    if (pauses.length < count) return nextPause(runId, count);
    const itemId = pauses[count - 1]!.detail!.itemId as string;
    const note = events.find((e) => e.type === 'note' && e.detail?.itemId === itemId && typeof e.detail?.checkpoint === 'string');
    return { run, itemId, checkpoint: readFileSync(note!.detail!.checkpoint as string, 'utf8') };
  };
  const branchFile = (branch: string, path: string): string | undefined => {
    try {
      return execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, sampleRepo), 'show', `${branch}:${path}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      return undefined;
    }
  };
  const baseHead = () =>
    execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, sampleRepo), 'rev-parse', 'main'], { encoding: 'utf8' }).trim();

  it('Given a plan run, When its plan is approved with edits and its risky command approved, Then the edited plan is in the resumed conversation, the command runs once, and the run ends with its PR', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.', plan: true });
    const plan = await nextPause(submitted.runId, 1);
    const item = await t.client.inboxItem(plan.itemId);
    expect(item).toMatchObject({
      type: 'plan_approval',
      state: 'open',
      details: { plan: expect.stringContaining('Collapse runs of separators') },
    });
    // The plan phase changed nothing: the early edit was refused with what to do instead, and the branch is the base commit.
    const before = await allEvents(submitted.runId);
    expect(before.find((e) => e.type === 'tool_call' && e.detail?.name === 'edit_file')).toMatchObject({
      detail: { isError: true, output: expect.stringContaining('propose_plan') },
    });
    // The shell ran in the plan phase, and what it wrote was discarded before the pause pushed the branch.
    expect(before.find((e) => e.type === 'tool_call' && e.detail?.name === 'shell')).toMatchObject({ detail: { exitCode: 0 } });
    expect(before.some((e) => /plan phase: discarded what the shell changed in 1 file/.test(e.message))).toBe(true);
    expect(
      execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, sampleRepo), 'rev-parse', plan.run.branch!], {
        encoding: 'utf8',
      }).trim(),
    ).toBe(baseHead());

    const edited = '1. Collapse runs of separators.\n2. Trim the ends.\n3. Write CHANGELOG.md, then run npm test. EDITED-BY-HUMAN';
    const approved = await t.client.resolveInboxItem(plan.itemId, { action: 'approve', plan: edited });
    expect(approved.resolution).toMatchObject({ action: 'approve', plan: edited });
    await expect(t.client.resolveInboxItem(plan.itemId, { action: 'approve', plan: 'another plan' })).rejects.toMatchObject({
      status: 409,
    });

    // Resumed with every tool; the command approvalRequired names waits before it runs.
    const risky = await nextPause(submitted.runId, 2);
    expect(await t.client.inboxItem(risky.itemId)).toMatchObject({
      type: 'risky_action',
      details: { tool: 'shell', command: RISKY, pattern: 'echo released*' },
    });
    expect(risky.checkpoint).toContain('EDITED-BY-HUMAN');
    expect(risky.checkpoint).toContain('approved your plan with edits');
    expect(
      (await allEvents(submitted.runId)).filter(
        (e) => e.type === 'tool_call' && (e.detail?.input as { command?: string })?.command === RISKY,
      ),
    ).toEqual([]);

    await t.client.resolveInboxItem(risky.itemId, { action: 'approve' });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the run to end', 120_000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened', branch: plan.run.branch });
    expect(listPulls(t.home.forge, sampleRepo).some((p) => p.head === run.branch)).toBe(true);
    const events = await allEvents(submitted.runId);
    expect(
      events.filter(
        (e) => e.type === 'tool_call' && e.detail?.name === 'shell' && (e.detail?.input as { command?: string })?.command === RISKY,
      ),
    ).toHaveLength(1);
    expect(branchFile(run.branch!, 'CHANGELOG.md')).toBe('released\n');
    expect(branchFile(run.branch!, 'plan-notes.txt')).toBeUndefined();
    expect(await t.platform.store.slots.holders()).toEqual([]);
  }, 300_000);

  it('Given a plan run, When its plan is rejected, Then the run ends CANCELLED with plan_rejected and nothing beyond its base commit was pushed', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.', plan: true });
    const plan = await nextPause(submitted.runId, 1);
    await t.client.resolveInboxItem(plan.itemId, { action: 'reject' });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the rejected run to end', 60_000);
    expect(run).toMatchObject({ status: 'CANCELLED', prUrl: null, error: { code: 'plan_rejected' } });
    expect(
      execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, sampleRepo), 'rev-parse', plan.run.branch!], {
        encoding: 'utf8',
      }).trim(),
    ).toBe(baseHead());
    expect(listPulls(t.home.forge, sampleRepo).some((p) => p.head === plan.run.branch)).toBe(false);
    expect(await t.platform.store.slots.holders()).toEqual([]);
  }, 200_000);

  it('Given a risky command waiting for approval, When it is rejected, Then the agent gets the refusal, the command never runs, and the run goes on to its PR', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.', plan: true });
    const plan = await nextPause(submitted.runId, 1);
    await t.client.resolveInboxItem(plan.itemId, { action: 'approve' });
    const risky = await nextPause(submitted.runId, 2);
    expect(risky.checkpoint).toContain('The requester approved your plan. Follow it');
    await t.client.resolveInboxItem(risky.itemId, { action: 'reject' });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the run to end', 120_000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', outcome: 'pr_opened' });
    const shells = (await allEvents(submitted.runId)).filter((e) => e.type === 'tool_call' && e.detail?.name === 'shell');
    const refused = shells.filter((e) => (e.detail?.input as { command?: string })?.command === RISKY);
    expect(refused).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({ isError: true, exitCode: null, output: expect.stringContaining('rejected this tool call') }),
      }),
    ]);
    expect(branchFile(run.branch!, 'CHANGELOG.md')).toBeUndefined();
    expect(branchFile(run.branch!, 'src/slugify.js')).toContain('.replace(/^-+|-+$/g');
  }, 300_000);
});
