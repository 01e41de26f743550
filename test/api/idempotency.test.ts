import './quiet-powertools';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { apiMetrics } from '../../lambdas/api/observability';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { apiEvent, bodyOf, snapshotTables, startApi } from './api-harness';
import { freshEachTest } from '../support/fresh-each-test';

describe('Idempotency-Key on POST /v1/runs', () => {
  const api = freshEachTest(startApi);
  const submit = submitRunHandler(() => api.deps);

  const body = { repo: 'acme/web', prompt: 'Bump lodash', budgetUsd: 0.5, labels: ['a', 'b'] };

  it("Given a submission with a key, When the same key and body come again with the body's keys reordered, Then the same run is answered and only one run is made and started", async () => {
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

  it('Given a submission with a key, When it is replayed, Then RunsSubmitted is counted once', async () => {
    const emitted = jest.spyOn(apiMetrics, 'emit');
    try {
      await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-metric' } }));
      await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-metric' } }));
      const submitted = (emitted.mock.calls as unknown as [{ name: string }][])
        .map(([record]) => record)
        .filter((record) => record.name === 'RunsSubmitted');
      expect(submitted).toEqual([{ name: 'RunsSubmitted', value: 1, dimensions: { repo: 'acme/web', source: 'api' } }]);
    } finally {
      emitted.mockRestore();
    }
  });

  it('Given a submission with a key, When the same key comes with another body, Then it is refused with 409 and nothing is written', async () => {
    await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-2' } }));
    const before = await snapshotTables(api.db);
    const other = await submit(apiEvent({ body: { ...body, prompt: 'Something else' }, headers: { 'idempotency-key': 'k-2' } }));
    expect(other.statusCode).toBe(409);
    expect(bodyOf(other).error.code).toBe('idempotency_key_reused');
    expect(await snapshotTables(api.db)).toEqual(before);
  });

  it('Given a key one requester used, When another requester submits with it, Then they get a run of their own', async () => {
    const mine = await submit(apiEvent({ body, headers: { 'idempotency-key': 'shared' } }));
    const theirs = await submit(
      apiEvent({ body, headers: { 'idempotency-key': 'shared' }, requester: 'arn:aws:iam::123456789012:role/bob' }),
    );
    expect(theirs.statusCode).toBe(202);
    expect(bodyOf(theirs).runId).not.toBe(bodyOf(mine).runId);
  });

  it('Given a submission refused (403) under a key, When the key is used again for an allowed one, Then it is accepted', async () => {
    const refused = await submit(apiEvent({ body: { ...body, repo: 'other/repo' }, headers: { 'idempotency-key': 'k-3' } }));
    expect(refused.statusCode).toBe(403);
    const accepted = await submit(apiEvent({ body, headers: { 'idempotency-key': 'k-3' } }));
    expect(accepted.statusCode).toBe(202);
  });

  it('Given five identical submissions with one key, When they arrive at once, Then one run is made and the others get the same run or 409 in progress', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => submit(apiEvent({ body, headers: { 'idempotency-key': 'k-4' } }))));
    const ok = results.filter((r) => r.statusCode === 202);
    const runIds = new Set(ok.map((r) => bodyOf(r).runId));
    expect(runIds.size).toBe(1);
    for (const r of results.filter((r) => r.statusCode !== 202)) expect(bodyOf(r).error.code).toBe('idempotency_in_progress');
    expect((await api.deps.runs.list({ limit: 10 })).runs).toHaveLength(1);
  });
});
