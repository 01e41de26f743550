import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoAssets } from '../../local/demo';
import { listPulls } from '../../local/forge';
import { createBareRepoFromDirectory } from '../../local/forge/forge-repositories';
import { fastSession, sampleRepo, startTestPlatform, testHome, type TestPlatform } from './platform-harness';
import { submitAndSigtermWhileSleeping } from '../support/runner-interruption';

/**
 * Local mode end to end: a runner that gets SIGTERM before its agent loop started (here: during
 * setup, as a Fargate Spot interruption can land while a task clones or installs) does not end its
 * run `interrupted`: nothing was lost, so it reports an interruption with no checkpoint and the run
 * resumes at once without a human, as for an interruption in the loop; the new task starts the task
 * over (the whole recorded session, from its first response) and the run ends with its one PR.
 * The repository's setup sleeps only the first time (a marker file outside the workspace).
 */
describe('local mode: SIGTERM before the agent loop starts the task over', () => {
  let t: TestPlatform;
  let repoDir: string;
  const marker = join(mkdtempSync(join(tmpdir(), 'ns-early-')), 'slept');
  beforeAll(async () => {
    const { home, configFile } = testHome();
    repoDir = mkdtempSync(join(tmpdir(), 'ns-early-repo-'));
    cpSync(demoAssets.sampleRepo, repoDir, { recursive: true });
    writeFileSync(join(repoDir, '.nightshift.yml'), `setup:\n  - "test -e ${marker} || { touch ${marker}; sleep 45; }"\n`);
    createBareRepoFromDirectory(home.forge, sampleRepo, repoDir, { replace: true });
    t = await startTestPlatform({ session: fastSession, home, configFile, runnerStopTimeoutMs: 30_000 });
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(repoDir, { recursive: true, force: true });
  });

  it('Given a runner in its setup, When it gets SIGTERM, Then the run is resumed without a human, starts over on a new task and ends with one PR, its costs counted once', async () => {
    const { submitted, run } = await submitAndSigtermWhileSleeping(t, 'the runner to be in its setup', 'the restarted run to end');
    expect({ status: run.status, outcome: run.outcome, error: run.error }).toEqual({
      status: 'SUCCEEDED',
      outcome: 'pr_opened',
      error: null,
    });
    const events = (await t.client.events(submitted.runId, { limit: 500 })).events;
    expect(
      events.some(
        (e) =>
          e.type === 'note' &&
          /interrupted \(SIGTERM\) before its agent loop started \(stopped during setup\); nothing was lost/.test(e.message),
      ),
    ).toBe(true);
    const requeued = events.filter((e) => e.type === 'status' && e.detail?.to === 'QUEUED' && e.detail?.stop === 'interrupted');
    expect(requeued).toEqual([expect.objectContaining({ detail: expect.objectContaining({ from: 'RUNNING', attempt: 1 }) })]);
    // No model turn before the interruption; the new task made every turn of the session, from turn 1.
    const turns = events.filter((e) => e.type === 'model_turn').map((e) => e.detail?.turn);
    expect(turns[0]).toBe(1);
    expect(new Set(turns).size).toBe(turns.length);
    expect(events.some((e) => e.type === 'status' && e.detail?.to === 'WAITING_FOR_HUMAN')).toBe(false);
    const pulls = listPulls(t.home.forge, sampleRepo).filter((p) => p.head === run.branch);
    expect(pulls).toHaveLength(1);
    // Each task stored its own trace, and what both charged is the run's spend.
    const traces = events.filter((e) => e.type === 'trace');
    expect(traces).toHaveLength(2);
    const stored = await t.platform.store.runs.get(submitted.runId);
    expect(stored).toMatchObject({
      settled: true,
      automaticResumes: { count: 1 },
      resume: { reason: 'interrupted', checkpoint: null, answer: null, segment: 2 },
    });
    expect(stored!.spentMicros).toBe(
      traces.reduce((sum, e) => sum + (e.detail?.modelMicros as number) + (e.detail?.computeMicros as number), 0),
    );
    expect((await t.client.inbox({ state: 'all' })).items.filter((i) => i.runId === submitted.runId).map((i) => i.type)).toEqual([
      'pr_ready',
    ]);
    expect(await t.platform.store.slots.holders()).toEqual([]);
  }, 300_000);
});
