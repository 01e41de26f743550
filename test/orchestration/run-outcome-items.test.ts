import { admitRun } from '../../core/runs/admission';
import { finalizeRun, type FinalizeInput } from '../../core/runs/finalize';
import { submitRun } from '../../core/runs/submit';
import { recordPullOutcome } from '../../core/github/pull-outcome';
import { outcomeItemId, outcomeItemType } from '../../core/inbox/run-outcome-item';
import { createThreadStore } from '../../core/store/threads';
import { SYSTEM_RESOLVER } from '../../core/inbox/inbox-item';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { testConfig } from '../infra/synth';

/** pr_ready and failed items (created at Finalize, closed by pull_request.closed) and the review backlog they make at admission. */
let db: DynaliteHarness;
const config = testConfig();
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

async function runningRun(requester: string): Promise<string> {
  const { runId } = await submitRun({ config, ...db.store, stopRunTasks: async () => undefined, startExecution: async () => undefined }, { request: { repo: 'acme/web', prompt: 'Tidy the README' }, requester, source: 'cli' });
  await db.store.runs.transition(runId, 'STARTING');
  await db.store.runs.transition(runId, 'RUNNING');
  return runId;
}

const finalizeDeps = () => ({ ...db.store, stopRunTasks: async () => undefined });
const prOpened = (runId: string, number: number): FinalizeInput => ({
  runId,
  status: 'SUCCEEDED',
  reason: { code: 'pr_opened', message: 'done' },
  result: { outcome: 'pr_opened', branch: `nightshift/${runId}-tidy`, prUrl: `https://github.com/acme/web/pull/${number}`, question: null, summary: 'done' },
});

describe('outcome items', () => {
  it('Given endings, When deciding the item, Then a new PR is pr_ready, failures are failed, and chosen or cancelled endings leave none', () => {
    const base = { outcome: null, prUrl: null, error: null };
    expect(outcomeItemType({ ...base, status: 'SUCCEEDED', outcome: 'pr_opened', prUrl: 'https://x/pull/1' })).toBe('pr_ready');
    expect(outcomeItemType({ ...base, status: 'SUCCEEDED', outcome: 'pr_updated', prUrl: 'https://x/pull/1' })).toBeUndefined();
    expect(outcomeItemType({ ...base, status: 'SUCCEEDED', outcome: 'no_changes' })).toBeUndefined();
    expect(outcomeItemType({ ...base, status: 'FAILED', error: { code: 'runner_lost', message: 'x' } })).toBe('failed');
    expect(outcomeItemType({ ...base, status: 'TIMED_OUT', error: { code: 'no_answer', message: 'x' } })).toBe('failed');
    expect(outcomeItemType({ ...base, status: 'BUDGET_EXCEEDED', error: { code: 'budget_exhausted', message: 'x' } })).toBe('failed');
    expect(outcomeItemType({ ...base, status: 'BUDGET_EXCEEDED', error: { code: 'budget_declined', message: 'x' } })).toBeUndefined();
    expect(outcomeItemType({ ...base, status: 'FAILED', error: { code: 'execution_start_failed', message: 'x' } })).toBeUndefined();
    expect(outcomeItemType({ ...base, status: 'CANCELLED', error: { code: 'cancelled', message: 'x' } })).toBeUndefined();
  });

  it('Given a run id, When the item id is derived, Then it is a ULID of the end time, the same on every call and different per type', () => {
    const id = outcomeItemId('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'pr_ready', '2030-01-02T03:04:05.000Z');
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(outcomeItemId('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'pr_ready', '2030-01-02T03:04:05.000Z')).toBe(id);
    expect(outcomeItemId('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'failed', '2030-01-02T03:04:05.000Z')).not.toBe(id);
    expect(id.slice(0, 10)).toBe(outcomeItemId('01BX5ZZKBKACTAV9WEVGEMMVRZ', 'failed', '2030-01-02T03:04:05.000Z').slice(0, 10));
  });

  it('Given a run that opened a PR, When Finalize runs twice, Then one pr_ready item with no task token exists', async () => {
    const runId = await runningRun('carol');
    await finalizeRun(finalizeDeps(), prOpened(runId, 11));
    await finalizeRun(finalizeDeps(), prOpened(runId, 11));
    const items = await db.store.inbox.listByRun(runId);
    expect(items).toEqual([expect.objectContaining({ type: 'pr_ready', state: 'open', requester: 'carol', taskToken: null, checkpoint: null, details: expect.objectContaining({ prUrl: 'https://github.com/acme/web/pull/11' }) })]);
  });

  it('Given a run that failed, When Finalize ends it, Then a failed item carries the error', async () => {
    const runId = await runningRun('carol');
    await finalizeRun(finalizeDeps(), { runId, status: 'FAILED', reason: { code: 'tests_broken', message: 'the tests could not run' } });
    const [item] = await db.store.inbox.listByRun(runId);
    expect(item).toMatchObject({ type: 'failed', message: 'The run ended FAILED: the tests could not run', details: { status: 'FAILED', error: { code: 'tests_broken', message: 'the tests could not run' } } });
  });

  it('Given a cancelled run, When Finalize ends it, Then no item is left', async () => {
    const runId = await runningRun('carol');
    await finalizeRun(finalizeDeps(), { runId, status: 'CANCELLED', reason: { code: 'cancelled', message: 'cancelled' } });
    expect(await db.store.inbox.listByRun(runId)).toEqual([]);
  });
});

describe('the review backlog (concurrency.maxOpenPrsPerRequester)', () => {
  const admissionDeps = (max: number | undefined) => ({
    runs: db.store.runs,
    events: db.store.events,
    slots: db.store.slots,
    runKeys: db.store.runKeys,
    queue: db.store.queue,
    caps: { global: 50, perRepo: 50 },
    reviewBacklog: { maxOpenPrsPerRequester: max, inbox: db.store.inbox },
  });
  const queued = async (requester: string) =>
    (await submitRun({ config, ...db.store, stopRunTasks: async () => undefined, startExecution: async () => undefined }, { request: { repo: 'acme/api', prompt: 'Another change' }, requester, source: 'cli' })).runId;

  it('Given a requester with two open pr_ready items, When their new run is admitted under a limit of 2, Then it waits without a slot with the reason, and starts once one item is dismissed', async () => {
    const opened = [await runningRun('dave'), await runningRun('dave')];
    for (const [i, runId] of opened.entries()) await finalizeRun(finalizeDeps(), prOpened(runId, 20 + i));
    const runId = await queued('dave');
    expect(await admitRun(admissionDeps(2), runId)).toEqual({ decision: 'queued', queuePosition: expect.any(Number) });
    expect(await db.store.slots.holders()).not.toContain(runId);
    expect((await db.store.runs.get(runId))?.queueReason).toBe(
      'waiting for review: dave has 2 pull requests awaiting review (concurrency.maxOpenPrsPerRequester is 2); merging, closing or dismissing one lets this run start',
    );
    // Another requester is not held, and no limit holds nobody.
    expect(await admitRun(admissionDeps(2), await queued('erin'))).toMatchObject({ decision: 'admitted' });
    expect(await admitRun(admissionDeps(3), runId)).toMatchObject({ decision: 'admitted' });
    const again = await queued('dave');
    expect(await admitRun(admissionDeps(2), again)).toMatchObject({ decision: 'queued' });
    const [item] = await db.store.inbox.listByRun(opened[0]!);
    await db.store.inbox.resolve(item!.itemId, { action: 'dismiss', answer: null }, 'dave', new Date().toISOString());
    expect(await admitRun(admissionDeps(2), again)).toMatchObject({ decision: 'admitted' });
    expect((await db.store.runs.get(again))?.queueReason).toBeNull();
  });

  it('Given a run resumed after a pause, When its requester has a full backlog, Then it is not held', async () => {
    const opened = await runningRun('frank');
    await finalizeRun(finalizeDeps(), prOpened(opened, 30));
    const runId = await queued('frank');
    await db.store.runs.patch(runId, { resume: { itemId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', reason: 'question', checkpoint: 'file:///c.json', answer: 'yes', answeredAt: new Date().toISOString(), segment: 2 } });
    expect(await admitRun(admissionDeps(1), runId)).toMatchObject({ decision: 'admitted' });
  });
});

describe('pull_request.closed and pr_ready', () => {
  it('Given a pr_ready item, When its pull request is merged, Then Nightshift closes it with the outcome, once', async () => {
    const runId = await runningRun('gina');
    await finalizeRun(finalizeDeps(), prOpened(runId, 41));
    const deps = { runs: db.store.runs, threads: createThreadStore(db.doc, db.names.control), inbox: db.store.inbox };
    const at = '2030-01-03T00:00:00.000Z';
    const pull = { kind: 'pull_closed' as const, repo: 'acme/web', number: 41, merged: true, headRef: `nightshift/${runId}-tidy`, openedAt: '2030-01-02T00:00:00.000Z', sender: { login: 'alice', type: 'User' }, at };
    expect(await recordPullOutcome(deps, 'acme/web', pull)).toMatchObject({ action: 'recorded', state: 'merged', runIds: [runId] });
    // A redelivery changes nothing.
    await recordPullOutcome(deps, 'acme/web', pull);
    const [item] = await db.store.inbox.listByRun(runId);
    expect(item).toMatchObject({ type: 'pr_ready', state: 'resolved', resolvedBy: SYSTEM_RESOLVER, resolvedAt: at, resolution: { action: 'closed', answer: null, pullRequest: 'merged' } });
  });
});
