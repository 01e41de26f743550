import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { listPulls } from '../../local/forge';
import { bareRepoPath } from '../../local/forge/forge-repositories';
import { ended, sampleRepo, startTestPlatform, untilStatus, type TestPlatform } from './platform-harness';

/**
 * `earlierTaskCommit` in a real session (runner/session/delivery.ts): the agent makes its change, then
 * asks (the pause pushes the change as a `WIP:` commit); the resumed task changes nothing more (it
 * only runs the tests and finishes), and delivers the earlier task's WIP commit as the pull request
 * instead of ending `no_changes`. Scripted model: edit-ask-finish.jsonl.
 */
describe('local mode: a resumed task with no new changes delivers the earlier task’s work', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ session: join(__dirname, 'fixtures', 'edit-ask-finish.jsonl') });
  });
  afterAll(() => t?.stop());

  const git = (...args: string[]) =>
    execFileSync('git', ['--git-dir', bareRepoPath(t.home.forge, sampleRepo), ...args], { encoding: 'utf8' }).trim();

  it('Given an agent that edits then asks, When the answer resumes it and it changes nothing more, Then the PR opens on the WIP commit of the first task', async () => {
    const submitted = await t.client.submit({ repo: sampleRepo, prompt: 'Fix slugify so the tests pass.' });
    const waiting = await untilStatus(
      t.client,
      submitted.runId,
      (r) => r.status === 'WAITING_FOR_HUMAN' || ended(r),
      'the run to ask',
      90_000,
    );
    expect(waiting.status).toBe('WAITING_FOR_HUMAN');
    const wip = git('rev-parse', waiting.branch!);
    expect(git('log', '-1', '--format=%s%n%b', wip)).toMatch(new RegExp(`^WIP: [\\s\\S]*Nightshift-Run: ${submitted.runId}`));
    expect(git('show', `${wip}:src/slugify.js`)).toContain("replace(/^-+|-+$/g, '')");

    const itemId = (await t.client.events(submitted.runId)).events.find((e) => e.type === 'status' && e.detail?.to === 'WAITING_FOR_HUMAN')!
      .detail!.itemId as string;
    await t.client.resolveInboxItem(itemId, { action: 'answer', answer: 'Yes, an empty slug is fine.' });
    const run = await untilStatus(t.client, submitted.runId, ended, 'the resumed run to end', 120_000);
    expect({ status: run.status, outcome: run.outcome, error: run.error }).toEqual({
      status: 'SUCCEEDED',
      outcome: 'pr_opened',
      error: null,
    });

    const events = (await t.client.events(submitted.runId, { limit: 500 })).events;
    // The resumed task made no edit of its own.
    const resumedAt = events.findIndex((e) => /resumed after the question was answered/.test(e.message));
    expect(resumedAt).toBeGreaterThan(-1);
    expect(
      events.slice(resumedAt).filter((e) => e.type === 'tool_call' && ['edit_file', 'write_file'].includes(e.detail?.name as string)),
    ).toEqual([]);
    expect(
      events.some(
        (e) =>
          e.message ===
          `nothing more changed in this task: the pull request carries what the run's earlier tasks pushed (${wip.slice(0, 12)})`,
      ),
    ).toBe(true);
    // The pull request is on the branch at the WIP commit: nothing new was committed on top.
    expect(git('rev-parse', run.branch!)).toBe(wip);
    const pulls = listPulls(t.home.forge, sampleRepo).filter((p) => p.head === run.branch);
    expect(pulls).toHaveLength(1);
    expect(run.prUrl).toMatch(new RegExp(`/pull/${pulls[0]!.number}$`));
  }, 240_000);
});
