import './quiet-powertools';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { newRunId } from '../../core/runs/run-id';
import { pauseRun } from '../../core/runs/pause';
import { getInboxItemHandler, listInboxHandler, resolveInboxItemHandler } from '../../lambdas/api/inbox-item';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { alice, apiEvent, bodyOf, snapshotTables, startApi, type ApiHarness } from './api-harness';
import { apiFixture, testConfig } from '../support/test-config';
import { freshEachTest } from '../support/fresh-each-test';

const bob = 'arn:aws:iam::123456789012:user/bob';
const admin = 'arn:aws:iam::123456789012:user/ops';
/** The API with `admin` as its one admin. */
const startApiWithAdmin = () => startApi(testConfig(apiFixture, { auth: { type: 'iam', admins: [admin] } }));

/**
 * A run of `requester` in `repo`, submitted through the API and paused on a question as the state
 * machine leaves it (Pause's own code): the task token waits with the item, `token-<itemId>` unless
 * `question.token` names it.
 */
async function pausedOnQuestion(
  api: ApiHarness,
  requester: string,
  repo: string,
  question: { message: string; details: Record<string, unknown>; checkpoint: string; token?: string },
): Promise<{ runId: string; itemId: string }> {
  const submitted = await submitRunHandler(() => api.deps)(apiEvent({ body: { repo, prompt: 'p' }, requester }));
  const runId = bodyOf(submitted).runId as string;
  await api.deps.runs.transition(runId, 'STARTING');
  await api.deps.runs.transition(runId, 'RUNNING', { startedAt: new Date().toISOString() });
  const itemId = newRunId();
  const { token = `token-${itemId}`, message, details, checkpoint } = question;
  await pauseRun(
    { ...api.deps, stopRunTasks: async () => undefined },
    { runId, token, report: { pause: { itemId, reason: 'question', message, details, branch: 'nightshift/x', checkpoint } } },
  );
  return { runId, itemId };
}

describe('GET and POST /v1/inbox/{itemId}', () => {
  const api = freshEachTest(startApiWithAdmin);
  const resolve = resolveInboxItemHandler(() => api.deps);
  const get = getInboxItemHandler(() => api.deps);

  /** A run of alice's that paused on a question, as the state machine leaves it. */
  const pausedRun = (requester = alice, repo = 'acme/web') =>
    pausedOnQuestion(api, requester, repo, {
      message: 'Which timezone?',
      details: { question: 'Which timezone?' },
      checkpoint: 's3://b/runs/x/checkpoint.json',
      token: 'the-task-token',
    });

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
  ])('Given a paused run, When %s resolves it, Then it is refused with its 4xx and nothing changes', async (_name, init, status) => {
    const { itemId } = await pausedRun();
    const before = await snapshotTables(api.db);
    const result = await resolve(apiEvent({ itemId, ...(init as object) }));
    expect(result.statusCode).toBe(status);
    expect(await snapshotTables(api.db)).toEqual(before);
    expect(api.sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });
});

describe('GET /v1/inbox', () => {
  const api = freshEachTest(startApiWithAdmin);
  const list = listInboxHandler(() => api.deps);

  const pausedRun = async (requester: string, repo: string): Promise<string> =>
    (await pausedOnQuestion(api, requester, repo, { message: `asked in ${repo}`, details: {}, checkpoint: 's3://b/c' })).itemId;
  const ids = async (query: Record<string, string>, requester = alice) => {
    const result = await list(apiEvent({ query, requester }));
    expect(result.statusCode).toBe(200);
    return (bodyOf(result).items as { itemId: string }[]).map((i) => i.itemId);
  };

  it('Given items of two requesters, When each lists, Then a caller sees its own open items newest first (never a token), an admin all, and asking for another requester is an empty page', async () => {
    const a1 = await pausedRun(alice, 'acme/web');
    const b1 = await pausedRun(bob, 'acme/api');
    const a2 = await pausedRun(alice, 'acme/api');
    const page = await list(apiEvent({}));
    expect(page.body).not.toContain('token-');
    expect(bodyOf(page)).toMatchObject({ items: [{ itemId: a2, requester: alice, state: 'open' }, { itemId: a1 }], nextCursor: null });
    expect(await ids({ requester: bob })).toEqual([]);
    expect(await ids({}, bob)).toEqual([b1]);
    expect(await ids({}, admin)).toEqual([a2, b1, a1]);
    expect(await ids({ requester: bob }, admin)).toEqual([b1]);
    expect(await ids({ repo: 'acme/api' }, admin)).toEqual([a2, b1]);
    expect(await ids({ type: 'budget_approval' }, admin)).toEqual([]);
  });

  it('Given an answered item, When listing by state, Then open is the default, resolved and all show it', async () => {
    const a1 = await pausedRun(alice, 'acme/web');
    const a2 = await pausedRun(alice, 'acme/web');
    await resolveInboxItemHandler(() => api.deps)(apiEvent({ itemId: a1, body: { action: 'answer', answer: 'yes' } }));
    expect(await ids({})).toEqual([a2]);
    expect(await ids({ state: 'resolved' })).toEqual([a1]);
    expect(await ids({ state: 'all' })).toEqual([a2, a1]);
    expect(await ids({ state: 'all' }, admin)).toEqual([a2, a1]);
    expect(await ids({ state: 'resolved', repo: 'acme/web' }, admin)).toEqual([a1]);
  });

  it('Given more items than a page, When the caller follows the cursor, Then every item comes once, newest first', async () => {
    const made = [await pausedRun(alice, 'acme/web'), await pausedRun(alice, 'acme/web'), await pausedRun(alice, 'acme/api')];
    for (const [who, query] of [
      [alice, {}],
      [admin, { state: 'all' }],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const body = bodyOf(await list(apiEvent({ query: { ...query, limit: '2', ...(cursor ? { cursor } : {}) }, requester: who })));
        seen.push(...(body.items as { itemId: string }[]).map((i) => i.itemId));
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...made].reverse());
    }
  });

  it.each([
    ['an unknown type', { type: 'nope' }, 'invalid_request'],
    ['an unknown state', { state: 'closed' }, 'invalid_request'],
    ['a limit over 100', { limit: '101' }, 'invalid_request'],
    ['an unknown parameter', { owner: 'x' }, 'invalid_request'],
    ['a cursor it never issued', { cursor: 'bm90LWEtY3Vyc29y' }, 'invalid_cursor'],
  ])('Given %s (%j), When the inbox is listed with it, Then it is refused with 400 %s', async (_name, query, code) => {
    const result = await list(apiEvent({ query }));
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error.code).toBe(code);
  });
});
