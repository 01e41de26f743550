import './quiet-powertools';
import { RunView } from '../../core/runs/schemas';
import { cancelRunHandler } from '../../lambdas/api/cancel-run';
import { getRunEventsHandler } from '../../lambdas/api/get-run-events';
import { getRunHandler } from '../../lambdas/api/get-run';
import { listRunsHandler } from '../../lambdas/api/list-runs';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { alice, apiEvent, bodyOf, startApi, type ApiHarness } from './api-harness';
import { apiFixture, testConfig } from '../support/test-config';

const bob = 'arn:aws:sts::123456789012:assumed-role/dev/bob';

describe('GET /v1/runs, /v1/runs/{runId}, /v1/runs/{runId}/events', () => {
  let api: ApiHarness;
  const ids: string[] = [];

  beforeAll(async () => {
    // Alice reads as an admin here (everyone's runs); test/api/authorization.test.ts covers who sees what.
    api = await startApi(testConfig(apiFixture, { auth: { type: 'iam', admins: [alice] } }));
    const submit = submitRunHandler(() => api.deps);
    // Sequential, so creation order is known: oldest first in `ids`.
    for (const [repo, requester] of [
      ['acme/web', alice],
      ['acme/api', bob],
      ['acme/web', bob],
    ] as const) {
      ids.push(bodyOf(await submit(apiEvent({ body: { repo, prompt: `work on ${repo}`, issue: 42 }, requester }))).runId);
    }
    await cancelRunHandler(() => api.deps)(apiEvent({ runId: ids[0]! }));
  });
  afterAll(() => api.stop());

  const list = async (query: Record<string, string> = {}) => {
    const result = await listRunsHandler(() => api.deps)(apiEvent({ query }));
    expect(result.statusCode).toBe(200);
    return bodyOf(result) as { runs: RunView[]; nextCursor: string | null };
  };

  it('Given three runs, When they are listed without parameters, Then they come back newest first in one page, each a valid run view', async () => {
    const page = await list();
    expect(page.runs.map((r) => r.runId)).toEqual([...ids].reverse());
    expect(page.nextCursor).toBeNull();
    for (const run of page.runs) expect(RunView.safeParse(run).success).toBe(true);
  });

  it('Given three runs, When they are listed by requester, repo, status or repo and status, Then only the matching ones come back, newest first', async () => {
    expect((await list({ requester: bob })).runs.map((r) => r.runId)).toEqual([ids[2], ids[1]]);
    expect((await list({ repo: 'acme/web' })).runs.map((r) => r.runId)).toEqual([ids[2], ids[0]]);
    expect((await list({ status: 'CANCELLED' })).runs.map((r) => r.runId)).toEqual([ids[0]]);
    expect((await list({ status: 'QUEUED', repo: 'acme/web' })).runs.map((r) => r.runId)).toEqual([ids[2]]);
  });

  it('Given three runs, When they are listed 2 at a time, Then an opaque cursor pages to the rest', async () => {
    const first = await list({ limit: '2' });
    expect(first.runs.map((r) => r.runId)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await list({ limit: '2', cursor: first.nextCursor! });
    expect(second.runs.map((r) => r.runId)).toEqual([ids[0]]);
  });

  it('Given a run, When it is read, Then it is shown in USD with its request id', async () => {
    const result = await getRunHandler(() => api.deps)(apiEvent({ runId: ids[1]! }));
    expect(result.statusCode).toBe(200);
    expect(result.headers['x-request-id']).toBeTruthy();
    expect(bodyOf(result)).toMatchObject({
      runId: ids[1],
      repo: 'acme/api',
      status: 'QUEUED',
      requester: 'arn:aws:sts::123456789012:assumed-role/dev',
      source: 'api',
      issue: 42,
      budgetUsd: 2,
      costUsd: 0,
      error: null,
    });
  });

  it('Given a cancelled run, When its events are read, Then its timeline comes back oldest first', async () => {
    const result = await getRunEventsHandler(() => api.deps)(apiEvent({ runId: ids[0]! }));
    expect(result.statusCode).toBe(200);
    const body = bodyOf(result);
    expect(body.runId).toBe(ids[0]);
    expect(body.events.map((e: { type: string }) => e.type)).toEqual(['status', 'status']);
    expect(body.events[1].detail).toMatchObject({ from: 'QUEUED', to: 'CANCELLED' });
  });
});
