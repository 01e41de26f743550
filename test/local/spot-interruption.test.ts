import { join } from 'node:path';
import { listPulls } from '../../local/forge';
import { sampleRepo, startTestPlatform, type TestPlatform } from './platform-harness';
import { submitAndSigtermWhileSleeping } from '../support/runner-interruption';

/**
 * Local mode end to end: a runner that gets SIGTERM from outside the platform (as ECS sends it at a
 * Fargate Spot interruption) checkpoints through the one pause path, and the run resumes at once on
 * the same branch without a human. The recorded session sleeps in a tool command (where the SIGTERM
 * lands), then, resumed, edits the file, runs the tests and finishes.
 */
describe('local mode: a Spot interruption resumes without a human', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    // A stop timeout with room for the checkpoint (commit, push, conversation, report) after SIGTERM.
    t = await startTestPlatform({ session: join(__dirname, 'fixtures', 'spot-interrupted.jsonl'), runnerStopTimeoutMs: 30_000 });
  });
  afterAll(() => t?.stop());

  it('Given a running runner, When it gets SIGTERM, Then the run is resumed on the same branch with no inbox item and ends with one PR, its costs counted once and nothing held', async () => {
    const { submitted, run } = await submitAndSigtermWhileSleeping(
      t,
      'the runner to be in its sleeping tool command',
      'the resumed run to end',
    );
    // The error is in the comparison so that a failure says why.
    expect({ status: run.status, outcome: run.outcome, error: run.error }).toEqual({
      status: 'SUCCEEDED',
      outcome: 'pr_opened',
      error: null,
    });
    const events = (await t.client.events(submitted.runId, { limit: 500 })).events;
    const requeued = events.filter((e) => e.type === 'status' && e.detail?.from === 'RUNNING' && e.detail?.to === 'QUEUED');
    expect(requeued).toEqual([expect.objectContaining({ detail: expect.objectContaining({ stop: 'interrupted', attempt: 1 }) })]);
    expect(events.some((e) => e.type === 'status' && e.detail?.to === 'WAITING_FOR_HUMAN')).toBe(false);
    // The checkpoint pushed the branch the resumed task continued.
    const checkpoint = events.find((e) => /checkpointed to resume without a human \(interrupted\)/.test(e.message));
    expect(checkpoint?.detail?.branch).toBe(run.branch);
    expect(events.some((e) => /resumed after the runner task was interrupted; the conversation goes on from turn 2/.test(e.message))).toBe(
      true,
    );
    const pulls = listPulls(t.home.forge, sampleRepo).filter((p) => p.head === run.branch);
    expect(pulls).toHaveLength(1);
    expect(run.prUrl).toMatch(new RegExp(`/pull/${pulls[0]!.number}$`));
    // Nobody was asked: the only inbox item is the pr_ready the run's end leaves.
    expect((await t.client.inbox({ state: 'all' })).items.filter((i) => i.runId === submitted.runId).map((i) => i.type)).toEqual([
      'pr_ready',
    ]);

    // Costs counted once: what each task charged (its model calls and its compute) adds up to the run's spend.
    const traces = events.filter((e) => e.type === 'trace');
    expect(traces).toHaveLength(2);
    const charged = traces.reduce((sum, e) => sum + (e.detail?.modelMicros as number) + (e.detail?.computeMicros as number), 0);
    const stored = await t.platform.store.runs.get(submitted.runId);
    expect(stored).toMatchObject({ settled: true, automaticResumes: { count: 1, capacityProvider: 'FARGATE' } });
    expect(stored!.spentMicros).toBe(charged);
    // The API's run view shows it too (the dedupe key stays internal).
    expect(run.automaticResumes).toEqual({ count: 1, capacityProvider: 'FARGATE', lastCause: expect.any(String) });
    expect(await t.platform.store.slots.holders()).toEqual([]);
  }, 300_000);
});
