import './quiet-powertools';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { newRunId } from '../../core/runs/run-id';
import { pauseRun } from '../../core/runs/pause';
import { getInboxItemHandler, resolveInboxItemHandler } from '../../lambdas/api/inbox-item';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { alice, apiEvent, bodyOf, snapshotTables, startApi, type ApiHarness } from './api-harness';

describe('GET and POST /v1/inbox/{itemId}', () => {
  let api: ApiHarness;
  let resolve: ReturnType<typeof resolveInboxItemHandler>;
  let get: ReturnType<typeof getInboxItemHandler>;
  const bob = 'arn:aws:iam::123456789012:user/bob';

  /** A run of alice's that paused on a question, as the state machine leaves it. */
  async function pausedRun(): Promise<{ runId: string; itemId: string }> {
    const submitted = await submitRunHandler(() => api.deps)(apiEvent({ body: { repo: 'acme/web', prompt: 'p' } }));
    const runId = bodyOf(submitted).runId as string;
    await api.deps.runs.transition(runId, 'STARTING');
    await api.deps.runs.transition(runId, 'RUNNING', { startedAt: new Date().toISOString() });
    const itemId = newRunId();
    await pauseRun(
      { ...api.deps, stopRunTasks: async () => undefined },
      { runId, token: 'the-task-token', report: { pause: { itemId, reason: 'question', message: 'Which timezone?', details: { question: 'Which timezone?' }, branch: 'nightshift/x', checkpoint: 's3://b/runs/x/checkpoint.json' } } },
    );
    return { runId, itemId };
  }

  beforeEach(async () => {
    api = await startApi();
    resolve = resolveInboxItemHandler(() => api.deps);
    get = getInboxItemHandler(() => api.deps);
  });
  afterEach(() => api.stop());

  it('Given a paused run, When its requester reads the item, Then it is shown without its task token; anyone else gets 404', async () => {
    const { runId, itemId } = await pausedRun();
    const mine = await get(apiEvent({ itemId }));
    expect(mine.statusCode).toBe(200);
    expect(bodyOf(mine)).toMatchObject({ itemId, runId, type: 'question', state: 'open', requester: alice, message: 'Which timezone?' });
    expect(mine.body).not.toContain('the-task-token');
    expect((await get(apiEvent({ itemId, requester: bob }))).statusCode).toBe(404);
    expect((await get(apiEvent({ itemId: 'not-an-id' }))).statusCode).toBe(404);
  });

  it('Given a paused run, When its requester answers, Then 200, the run is QUEUED with the answer and the token completed once; the same answer again is 200, another is 409', async () => {
    const { runId, itemId } = await pausedRun();
    const first = await resolve(apiEvent({ itemId, body: { action: 'answer', answer: 'UTC' } }));
    expect(first.statusCode).toBe(200);
    expect(bodyOf(first)).toMatchObject({ state: 'resolved', resolvedBy: alice, resolution: { action: 'answer', answer: 'UTC' } });
    expect(await api.deps.runs.get(runId)).toMatchObject({ status: 'QUEUED', resume: { itemId, answer: 'UTC' } });
    expect(api.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken)).toEqual(['the-task-token']);

    const again = await resolve(apiEvent({ itemId, body: { action: 'answer', answer: 'UTC' } }));
    expect(again.statusCode).toBe(200);
    expect(bodyOf(again)).toEqual(bodyOf(first));
    const other = await resolve(apiEvent({ itemId, body: { action: 'answer', answer: 'local time' } }));
    expect(other.statusCode).toBe(409);
    expect(bodyOf(other).error.code).toBe('inbox_item_resolved');
    expect(api.sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  it.each([
    ['someone else', { requester: bob, body: { action: 'answer', answer: 'UTC' } }, 404],
    ['a body that is not JSON', { body: '{"action":' }, 400],
    ['an unknown field', { body: { action: 'answer', answer: 'UTC', token: 'x' } }, 400],
    ['an action the type does not take', { body: { action: 'approve' } }, 400],
    ['an answer without text', { body: { action: 'answer' } }, 400],
  ])('Given a paused run, When %s resolves it, Then %#: the answer is refused and nothing changes', async (_name, init, status) => {
    const { itemId } = await pausedRun();
    const before = await snapshotTables(api.db);
    const result = await resolve(apiEvent({ itemId, ...(init as object) }));
    expect(result.statusCode).toBe(status);
    expect(await snapshotTables(api.db)).toEqual(before);
    expect(api.sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });
});
