import '../api/quiet-powertools';
import { runGaugeTick } from '../../lambdas/ops/run-gauges';
import { startApi, type ApiHarness } from '../api/api-harness';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { apiEvent, bodyOf } from '../api/api-harness';
import { listSink } from './list-sink';

describe('the run-gauge tick', () => {
  let api: ApiHarness;
  beforeEach(async () => {
    api = await startApi();
  });
  afterEach(() => api.stop());

  it("Given an ended run that still holds its slots, When the minute's tick runs, Then the gauges are sampled and the slots are freed", async () => {
    // Given a run that ended but still holds its slots (a stale admission took them after Finalize)
    const runId = bodyOf(await submitRunHandler(() => api.deps)(apiEvent({ body: { repo: 'acme/web', prompt: 'p' } }))).runId as string;
    await api.deps.runs.patch(runId, { cancelRequested: true });
    await api.deps.runs.transition(runId, 'CANCELLED', { error: { code: 'cancelled', message: 'c' } });
    await api.deps.slots.acquire(runId, 'acme/web', { global: 5, perRepo: 5 });
    // When the minute's tick runs
    const metrics = listSink();
    const { records, slotsReleased } = await runGaugeTick({
      ...api.deps,
      metrics,
      repos: api.deps.config.repos.map((r) => r.name),
      queueWake: { queue: api.db.store.queue, caps: { global: 5, perRepo: 5 }, wakeRun: async () => 'gone' },
    });
    // Then the gauges were written and the slots freed in both semaphores
    expect(records.map((r) => r.name)).toContain('RunsQueued');
    expect(slotsReleased).toEqual([runId]);
    expect(await api.deps.slots.holders()).toEqual([]);
    expect(await api.deps.slots.semaphoreHolders('acme/web')).toEqual([]);
  });
});
