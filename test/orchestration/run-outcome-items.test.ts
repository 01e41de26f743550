import { admitRun } from '../../core/runs/admission';
import { queueHoldChecker } from '../../core/runs/queue-holds';
import { wakeQueuedRuns } from '../../core/runs/queue-wake';
import { finalizeRun } from '../../core/runs/finalize';
import { submitRun } from '../../core/runs/submit';
import { recordPullOutcome } from '../../core/github/pull-outcome';
import { outcomeItemId, outcomeItemType } from '../../core/inbox/run-outcome-item';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { SYSTEM_RESOLVER } from '../../core/inbox/inbox-item';
import type { InboxNotification } from '../../core/inbox/inbox-notification';
import { withDynalite } from '../support/dynalite';
import { answeredResume } from '../support/answered-resume';
import { prOpenedInput } from '../support/finalize-inputs';
import { stackFixture, testConfig } from '../support/test-config';

/** pr_ready and failed items (created at Finalize, closed by pull_request.closed) and the review backlog they make at admission. */
const db = withDynalite();
const config = testConfig(stackFixture);

async function runningRun(requester: string): Promise<string> {
  const { runId } = await submitRun(
    { config, ...db.store, stopRunTasks: async () => undefined, startExecution: async () => undefined },
    { request: { repo: 'acme/web', prompt: 'Tidy the README' }, requester, source: 'cli' },
  );
  await db.store.runs.transition(runId, 'STARTING');
  await db.store.runs.transition(runId, 'RUNNING');
  return runId;
}

const finalizeDeps = () => ({ ...db.store, stopRunTasks: async () => undefined });

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
    const announced: InboxNotification[] = [];
    const notify = { itemCreated: async (n: InboxNotification) => void announced.push(n) };
    await finalizeRun({ ...finalizeDeps(), notify }, prOpenedInput(runId, 11));
    await finalizeRun({ ...finalizeDeps(), notify }, prOpenedInput(runId, 11));
    const items = await db.store.inbox.listByRun(runId);
    expect(items).toEqual([
      expect.objectContaining({
        type: 'pr_ready',
        state: 'open',
        requester: 'carol',
        taskToken: null,
        checkpoint: null,
        details: expect.objectContaining({ prUrl: 'https://github.com/acme/web/pull/11' }),
      }),
    ]);
    // Announced once, by the call that created it.
    expect(announced).toEqual([{ itemId: items[0]!.itemId, type: 'pr_ready', runId, repo: 'acme/web', requester: 'carol', thread: null }]);
  });

  it('Given a failed run and a notifier that fails, When Finalize ends it, Then the run ends, the item exists and the timeline says the announcement failed', async () => {
    const runId = await runningRun('carol');
    const notify = { itemCreated: async () => Promise.reject(new Error('SNS is down')) };
    const { run } = await finalizeRun(
      { ...finalizeDeps(), notify },
      { runId, status: 'FAILED', reason: { code: 'tests_broken', message: 'the tests could not run' } },
    );
    expect(run.status).toBe('FAILED');
    const [item] = await db.store.inbox.listByRun(runId);
    expect(item).toMatchObject({ type: 'failed' });
    const { events } = await db.store.events.list(runId, { limit: 100 });
    expect(events.map((e) => e.message)).toContainEqual(`the inbox notification for ${item!.itemId} could not be sent: Error`);
  });

  it('Given a run that failed, When Finalize ends it, Then a failed item carries the error', async () => {
    const runId = await runningRun('carol');
    await finalizeRun(finalizeDeps(), { runId, status: 'FAILED', reason: { code: 'tests_broken', message: 'the tests could not run' } });
    const [item] = await db.store.inbox.listByRun(runId);
    expect(item).toMatchObject({
      type: 'failed',
      message: 'The run ended FAILED: the tests could not run',
      details: { status: 'FAILED', error: { code: 'tests_broken', message: 'the tests could not run' } },
    });
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
    reviewBacklog: { maxOpenPrsPerRequester: max, inbox: db.store.inbox, places: db.store.reviewPlaces },
  });
  const queued = async (requester: string) =>
    (
      await submitRun(
        { config, ...db.store, stopRunTasks: async () => undefined, startExecution: async () => undefined },
        { request: { repo: 'acme/api', prompt: 'Another change' }, requester, source: 'cli' },
      )
    ).runId;

  it('Given a requester with two open pr_ready items, When their new run is admitted under a limit of 2, Then it waits without a slot with the reason, and starts once one item is dismissed', async () => {
    const opened = [await runningRun('dave'), await runningRun('dave')];
    for (const [i, runId] of opened.entries()) await finalizeRun(finalizeDeps(), prOpenedInput(runId, 20 + i));
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
    // The run admitted under the limit of 3 holds a place while it is active: it may open a pull request.
    expect(await admitRun(admissionDeps(2), again)).toMatchObject({ decision: 'queued' });
    expect((await db.store.runs.get(again))?.queueReason).toBe(
      'waiting for review: dave has 1 pull request awaiting review and 1 active run that may open one (concurrency.maxOpenPrsPerRequester is 2); merging, closing or dismissing one lets this run start',
    );
    // It ends without a pull request: its place is free, and the waiting run starts.
    await db.store.runs.transition(runId, 'RUNNING');
    await finalizeRun(finalizeDeps(), {
      runId,
      status: 'SUCCEEDED',
      reason: { code: 'no_changes', message: 'nothing to change' },
      result: { outcome: 'no_changes', branch: null, prUrl: null, question: null, summary: 'nothing' },
    });
    expect(await admitRun(admissionDeps(2), again)).toMatchObject({ decision: 'admitted' });
    expect((await db.store.runs.get(again))?.queueReason).toBeNull();
  });

  it("Given a run held by its requester's reviews, When the queue sweep runs, Then it reads the hold and wakes nothing (no state transition) until an item is dismissed, then wakes it once", async () => {
    const opened = await runningRun('nina');
    await finalizeRun(finalizeDeps(), prOpenedInput(opened, 60));
    const runId = await queued('nina');
    expect(await admitRun(admissionDeps(1), runId, undefined, 'token-of-the-admit-state')).toMatchObject({ decision: 'queued' });
    const woken: string[] = [];
    const sweep = () =>
      wakeQueuedRuns({
        queue: db.store.queue,
        slots: db.store.slots,
        caps: { global: 50, perRepo: 50 },
        wakeRun: async (token) => {
          woken.push(token);
          return 'delivered';
        },
        liftedHolds: queueHoldChecker({
          runs: db.store.runs,
          reviewBacklog: { maxOpenPrsPerRequester: 1, inbox: db.store.inbox, places: db.store.reviewPlaces },
        }),
        // Long after it started to wait: time alone never wakes a held run.
        now: () => new Date(Date.now() + 3_600_000),
      });
    expect(await sweep()).toEqual({ woken: [] });
    expect(await sweep()).toEqual({ woken: [] });
    expect(woken).toEqual([]);
    const [ready] = await db.store.inbox.listByRun(opened);
    await db.store.inbox.resolve(ready!.itemId, { action: 'dismiss', answer: null }, 'nina', new Date().toISOString());
    expect(await sweep()).toEqual({ woken: [runId] });
    expect(woken).toEqual(['token-of-the-admit-state']);
    // Its token is taken: a second sweep does not wake it again.
    expect(await sweep()).toEqual({ woken: [] });
    expect(await admitRun(admissionDeps(1), runId)).toMatchObject({ decision: 'admitted' });
  });

  it('Given a limit of 1 and nothing open, When two runs of one requester are admitted at the same instant, Then exactly one starts; when it opens a PR its place passes to the pr_ready item', async () => {
    for (const requester of ['hana', 'ivan', 'jude']) {
      const [a, b] = [await queued(requester), await queued(requester)];
      const decisions = await Promise.all([admitRun(admissionDeps(1), a), admitRun(admissionDeps(1), b)]);
      expect(decisions.map((d) => d.decision).sort()).toEqual(['admitted', 'queued']);
      const [started, waiting] = decisions[0]!.decision === 'admitted' ? [a, b] : [b, a];
      expect((await db.store.reviewPlaces.read(requester)).places).toEqual([started]);
      // The started run opens a PR: the place stays taken by its pr_ready item until it is dismissed.
      await db.store.runs.transition(started, 'RUNNING');
      await finalizeRun(finalizeDeps(), prOpenedInput(started, 50));
      expect(await admitRun(admissionDeps(1), waiting)).toMatchObject({ decision: 'queued' });
      expect((await db.store.runs.get(waiting))?.queueReason).toMatch(
        new RegExp(`^waiting for review: ${requester} has 1 pull request awaiting review \\(`),
      );
      const [ready] = await db.store.inbox.listByRun(started);
      await db.store.inbox.resolve(ready!.itemId, { action: 'dismiss', answer: null }, requester, new Date().toISOString());
      expect(await admitRun(admissionDeps(1), waiting)).toMatchObject({ decision: 'admitted' });
      expect((await db.store.reviewPlaces.read(requester)).places).toEqual([waiting]);
    }
  });

  it('Given a competing writer, When it takes the last place between an admission’s reading and its write, Then the admission decides again and waits', async () => {
    const runId = await queued('kim');
    const rival = await queued('kim');
    await db.store.runs.transition(rival, 'STARTING');
    const places = db.store.reviewPlaces;
    let interfered = false;
    // The rival's write lands right after this admission read the (empty) places.
    const racing = {
      ...places,
      async read(requester: string) {
        const current = await places.read(requester);
        if (!interfered) {
          interfered = true;
          expect(await places.write(requester, [rival], current.version)).toBe(true);
        }
        return current;
      },
    };
    const deps = { ...admissionDeps(1), reviewBacklog: { maxOpenPrsPerRequester: 1, inbox: db.store.inbox, places: racing } };
    expect(await admitRun(deps, runId)).toMatchObject({ decision: 'queued' });
    expect((await db.store.runs.get(runId))?.queueReason).toMatch(
      /^waiting for review: kim has 0 pull requests awaiting review and 1 active run that may open one/,
    );
    expect((await places.read('kim')).places).toEqual([rival]);
    // A stale version never writes.
    expect(await places.write('kim', [runId], 0)).toBe(false);
  });

  it('Given a run that took a place but waits for a slot, Then it gives the place back', async () => {
    expect(await admitRun(admissionDeps(undefined), await queued('mona'))).toMatchObject({ decision: 'admitted' });
    const runId = await queued('lena');
    // Every global slot is taken.
    const full = { ...admissionDeps(1), caps: { global: (await db.store.slots.holders()).length, perRepo: 50 } };
    expect(await admitRun(full, runId)).toMatchObject({ decision: 'queued' });
    expect((await db.store.runs.get(runId))?.queueReason).toBe('waiting for a concurrency slot');
    expect((await db.store.reviewPlaces.read('lena')).places).toEqual([]);
  });

  it('Given a run resumed after a pause, When its requester has a full backlog, Then it is not held', async () => {
    const opened = await runningRun('frank');
    await finalizeRun(finalizeDeps(), prOpenedInput(opened, 30));
    const runId = await queued('frank');
    await db.store.runs.patch(runId, { resume: answeredResume(new Date().toISOString()) });
    expect(await admitRun(admissionDeps(1), runId)).toMatchObject({ decision: 'admitted' });
  });
});

describe('pull_request.closed and pr_ready', () => {
  it('Given a pr_ready item, When its pull request is merged, Then Nightshift closes it with the outcome, once', async () => {
    const runId = await runningRun('gina');
    await finalizeRun(finalizeDeps(), prOpenedInput(runId, 41));
    const deps = { runs: db.store.runs, threads: createThreadStore(db.doc, db.names.control), inbox: db.store.inbox };
    const at = '2030-01-03T00:00:00.000Z';
    const pull = {
      kind: 'pull_closed' as const,
      repo: 'acme/web',
      number: 41,
      merged: true,
      headRef: `nightshift/${runId}-tidy`,
      openedAt: '2030-01-02T00:00:00.000Z',
      sender: { login: 'alice', type: 'User' },
      at,
    };
    expect(await recordPullOutcome(deps, 'acme/web', pull)).toMatchObject({ action: 'recorded', state: 'merged', runIds: [runId] });
    // A redelivery changes nothing.
    await recordPullOutcome(deps, 'acme/web', pull);
    const [item] = await db.store.inbox.listByRun(runId);
    expect(item).toMatchObject({
      type: 'pr_ready',
      state: 'resolved',
      resolvedBy: SYSTEM_RESOLVER,
      resolvedAt: at,
      resolution: { action: 'closed', answer: null, pullRequest: 'merged' },
    });
  });
});
