import './quiet-powertools';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { apiMetrics } from '../../lambdas/api/observability';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { apiEvent, bodyOf, snapshotTables, startApi, type ApiHarness } from './api-harness';

describe('Idempotency-Key on POST /v1/runs', () => {
  let api: ApiHarness;
  let submit: ReturnType<typeof submitRunHandler>;
  beforeEach(async () => {
    api = await startApi();
    submit = submitRunHandler(() => api.deps);
  });
  afterEach(() => api.stop());

  const body = { repo: 'acme/web', prompt: 'Bump lodash', budgetUsd: 0.5, labels: ['a', 'b'] };

  it('returns the same run for the same key and body, whatever the key order', async () => {
    const first = await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-1' } }));
    const reordered = { labels: ['a', 'b'], budgetUsd: 0.5, prompt: 'Bump lodash', repo: 'acme/web' };
    const second = await submit(apiEvent({ body: reordered, headers: { 'Idempotency-Key': 'k-1' } }));

    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(bodyOf(second).runId).toBe(bodyOf(first).runId);
    expect((await api.deps.runs.list({ limit: 10 })).runs).toHaveLength(1);
    expect(api.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    expect((await api.deps.runs.get(bodyOf(first).runId))?.requestHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('counts RunsSubmitted once: a replay of the same key is not a new submission', async () => {
    const emitted = jest.spyOn(apiMetrics, 'emit');
    try {
      await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-metric' } }));
      await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-metric' } }));
      const submitted = (emitted.mock.calls as unknown as [{ name: string }][]).map(([record]) => record).filter((record) => record.name === 'RunsSubmitted');
      expect(submitted).toEqual([{ name: 'RunsSubmitted', value: 1, dimensions: { repo: 'acme/web', source: 'api' } }]);
    } finally {
      emitted.mockRestore();
    }
  });

  it('refuses the same key with another body (409) and writes nothing', async () => {
    await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-2' } }));
    const before = await snapshotTables(api.db);
    const other = await submit(apiEvent({ body: { ...body, prompt: 'Something else' }, headers: { 'idempotency-key': 'k-2' } }));
    expect(other.statusCode).toBe(409);
    expect(bodyOf(other).error.code).toBe('idempotency_key_reused');
    expect(await snapshotTables(api.db)).toEqual(before);
  });

  it('scopes keys per requester', async () => {
    const mine = await submit(apiEvent({ body, headers: { 'idempotency-key': 'shared' } }));
    const theirs = await submit(apiEvent({ body, headers: { 'idempotency-key': 'shared' }, requester: 'arn:aws:iam::123456789012:role/bob' }));
    expect(theirs.statusCode).toBe(202);
    expect(bodyOf(theirs).runId).not.toBe(bodyOf(mine).runId);
  });

  it('keeps no record of a refused submission, so the key can be used again', async () => {
    const refused = await submit(apiEvent({ body: { ...body, repo: 'other/repo' }, headers: { 'idempotency-key': 'k-3' } }));
    expect(refused.statusCode).toBe(403);
    const accepted = await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-3' } }));
    expect(accepted.statusCode).toBe(202);
  });

  it('gives concurrent duplicates one run', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => submit(apiEvent({ body, headers: { 'idempotency-key': 'k-4' } }))));
    const ok = results.filter((r) => r.statusCode === 202);
    const runIds = new Set(ok.map((r) => bodyOf(r).runId));
    expect(runIds.size).toBe(1);
    for (const r of results.filter((r) => r.statusCode !== 202)) expect(bodyOf(r).error.code).toBe('idempotency_in_progress');
    expect((await api.deps.runs.list({ limit: 10 })).runs).toHaveLength(1);
  });
});
