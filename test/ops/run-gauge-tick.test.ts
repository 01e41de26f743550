import '../api/quiet-powertools';
import { runGaugeTick } from '../../lambdas/ops/run-gauges';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { apiEvent, bodyOf, startApi } from '../api/api-harness';
import { listSink } from './list-sink';
import { createProxyIdleClock } from '../../adapters/dynamodb/proxy-idle-clock';
import type { ProxyServicePort } from '../../core/egress/proxy-demand';
import { freshEachTest } from '../support/fresh-each-test';

describe('the run-gauge tick', () => {
  const api = freshEachTest(startApi);

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

  it('Given the proxy on demand, up and seen idle long enough, When the tick has freed the slots of an ended run, Then it stops the proxy', async () => {
    // Given an ended run that still holds its slot, and a proxy whose idle clock is 20 minutes old
    const runId = bodyOf(await submitRunHandler(() => api.deps)(apiEvent({ body: { repo: 'acme/web', prompt: 'p' } }))).runId as string;
    await api.deps.runs.patch(runId, { cancelRequested: true });
    await api.deps.runs.transition(runId, 'CANCELLED', { error: { code: 'cancelled', message: 'c' } });
    await api.deps.slots.acquire(runId, 'acme/web', { global: 5, perRepo: 5 });
    const now = new Date();
    const clock = createProxyIdleClock(api.db.doc, api.db.names.control);
    await clock.markIdle(new Date(now.getTime() - 20 * 60_000).toISOString());
    const scaled: number[] = [];
    let desired = 1;
    const proxy: ProxyServicePort = {
      describe: async () => ({ desiredCount: desired, runningCount: desired }),
      scaleTo: async (to) => {
        scaled.push(to);
        desired = to;
      },
    };
    // When the minute's tick runs
    const tick = await runGaugeTick({
      ...api.deps,
      now: () => now,
      metrics: listSink(),
      repos: api.deps.config.repos.map((r) => r.name),
      queueWake: { queue: api.db.store.queue, caps: { global: 5, perRepo: 5 }, wakeRun: async () => 'gone' },
      proxyIdle: { proxy, clock, idleMinutes: 15 },
    });
    // Then the stale slot no longer keeps the proxy up: it is stopped
    expect(tick.slotsReleased).toEqual([runId]);
    expect(tick.proxy).toBe('stopped');
    expect(scaled).toEqual([0]);
  });
});
