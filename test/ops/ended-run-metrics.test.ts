import '../api/quiet-powertools';
import { finalizeRun } from '../../core/runs/finalize';
import { submitScheduledRun } from '../../core/runs/schedule-submit';
import { startApi } from '../api/api-harness';
import { freshEachTest } from '../support/fresh-each-test';
import { apiFixture, testConfig } from '../support/test-config';
import { listLog, listSink } from './list-sink';

describe('metrics of a run that ends', () => {
  const api = freshEachTest(() =>
    startApi(testConfig(apiFixture, { schedules: [{ name: 'tidy', cron: '0 1 * * ? *', repo: 'acme/api', prompt: 'Tidy up.' }] })),
  );

  it('Given a run submitted by a schedule, When it is finalized twice, Then its metrics are written once, by the finalize call that ends it', async () => {
    // Given a run submitted by a schedule
    const metrics = listSink();
    const submitted = await submitScheduledRun({ ...api.deps, metrics, log: listLog() }, { schedule: 'tidy' });
    if (submitted.status !== 'submitted') throw new Error(`not submitted: ${submitted.status}`);

    // When it is finalized, and finalized again (the state machine and the backstop can race)
    const deps = { ...api.deps, metrics };
    await finalizeRun(deps, { runId: submitted.runId, status: 'CANCELLED', reason: { code: 'cancelled', message: 'cancelled by a test' } });
    await finalizeRun(deps, { runId: submitted.runId, status: 'FAILED', reason: { code: 'late', message: 'a late backstop' } });

    // Then the run is counted once, as what it became, with the schedule as its source
    expect(metrics.records).toEqual([
      { name: 'RunsSubmitted', value: 1, dimensions: { repo: 'acme/api', source: 'schedule' } },
      { name: 'RunsCancelled', value: 1, dimensions: { repo: 'acme/api', source: 'schedule' } },
      { name: 'RunCostMicroUsd', value: 0, dimensions: { repo: 'acme/api', source: 'schedule' } },
    ]);
  });

  it('Given an unknown schedule name or an injected prompt, When the schedule submits, Then it throws (a fault, not a refusal: Scheduler retries and dead-letters it) and nothing is counted', async () => {
    const metrics = listSink();
    await expect(submitScheduledRun({ ...api.deps, metrics, log: listLog() }, { schedule: 'gone' })).rejects.toThrow(
      /not in the configuration/,
    );
    await expect(submitScheduledRun({ ...api.deps, metrics, log: listLog() }, { schedule: 'tidy', prompt: 'injected' })).rejects.toThrow();
    expect(metrics.records).toEqual([]);
  });
});
