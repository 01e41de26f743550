import { admitRun, MAX_QUEUED_MINUTES } from '../../core/runs/admission';
import { submitRun } from '../../core/runs/submit';
import { withDynalite } from '../support/dynalite';
import { stackFixture, testConfig } from '../support/test-config';

const db = withDynalite();
const config = testConfig(stackFixture);

async function queuedRun(repo: string): Promise<string> {
  const { runId } = await submitRun(
    { config, ...db.store, stopRunTasks: async () => undefined, startExecution: async () => undefined },
    { request: { repo, prompt: 'Tidy the README' }, requester: 'bob', source: 'cli' },
  );
  return runId;
}

const deps = (now?: Date) => ({
  runs: db.store.runs,
  queue: db.store.queue,
  events: db.store.events,
  slots: db.store.slots,
  runKeys: db.store.runKeys,
  caps: { global: 2, perRepo: 1 },
  ...(now ? { now: () => now } : {}),
});

test("Given queued runs of one repository and too few slots, When they are admitted, Then the first takes the slot and the later ones queue in submission order; When the first's admit is retried, Then it stays admitted under a new run key", async () => {
  const first = await queuedRun('acme/web');
  const second = await queuedRun('acme/web');
  const third = await queuedRun('acme/web');
  const admitted = await admitRun(deps(), first);
  expect(admitted).toEqual({ decision: 'admitted', queuePosition: null, runKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  const retried = await admitRun(deps(), first);
  expect(retried).toEqual({ decision: 'admitted', queuePosition: null, runKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  // The retry launches a new task with a new key: the key of the lost answer no longer opens the run.
  expect(retried.runKey).not.toBe(admitted.runKey);
  expect(await db.store.runKeys.verify(first, retried.runKey!)).toBe(true);
  expect(await db.store.runKeys.verify(first, admitted.runKey!)).toBe(false);
  // The third asks first: alone in the queue it is next; the second, submitted before it, then goes ahead of it.
  expect(await admitRun(deps(), third)).toEqual({ decision: 'queued', queuePosition: 1 });
  expect(await admitRun(deps(), second)).toEqual({ decision: 'queued', queuePosition: 1 });
  expect(await db.store.queue.position(third, 'normal')).toBe(2);
  expect((await db.store.queue.head(10)).map((e) => e.runId)).toEqual([second, third]);
  expect((await db.store.runs.get(first))?.status).toBe('STARTING');
  expect(await db.store.slots.holders()).toEqual([first]);
});

test('Given a run queued longer than the limit, When it is admitted, Then it expires without taking a slot', async () => {
  const runId = await queuedRun('acme/api');
  const later = new Date(Date.now() + (MAX_QUEUED_MINUTES + 1) * 60_000);
  expect(await admitRun(deps(later), runId)).toEqual({ decision: 'expired', queuePosition: null });
  expect(await db.store.slots.holders()).not.toContain(runId);
});

test('Given an unknown run, When it is admitted, Then it is an error the state machine retries, not a decision', async () => {
  await expect(admitRun(deps(), '01ARZ3NDEKTSV4RRFFQ69G5FAV')).rejects.toMatchObject({ name: 'RunNotFoundError' });
});

test('Given an admitted run and a retried Admit whose read of it is stale, When Finalize ends the run before the retry takes its slots, Then the retry reports the run ended and the ended run holds no slot', async () => {
  // Given an admitted run, and a retried Admit whose read of it is stale: Finalize ends the run and
  // frees its slots between that read and the slot acquisition
  const runId = await queuedRun('acme/api');
  await admitRun(deps(), runId);
  const staleRead = await db.store.runs.get(runId);
  const { finalizeRun } = await import('../../core/runs/finalize');
  const runs = {
    ...db.store.runs,
    get: jest
      .fn()
      .mockResolvedValueOnce(staleRead)
      .mockImplementation((id: string) => db.store.runs.get(id)),
  };
  await finalizeRun(
    { ...db.store, stopRunTasks: async () => undefined },
    { runId, status: 'CANCELLED', reason: { code: 'cancelled', message: 'c' } },
  );
  // When the retried admit goes on from its stale read
  const decision = await admitRun({ ...deps(), runs }, runId);
  // Then it reports the run ended, and the run holds no slot
  expect(decision).toEqual({ decision: 'ended', queuePosition: null });
  expect(await db.store.slots.holders()).not.toContain(runId);
  expect(await db.store.slots.semaphoreHolders('acme/api')).not.toContain(runId);
});

test('Given an active run, an ended run and a missing run holding slots, When the slot reconciler runs twice, Then only the ended and the missing runs lose their slots, in every semaphore, and the second pass frees nothing', async () => {
  const { reconcileSlots } = await import('../../core/runs/slot-reconciler');
  // Given an active run holding slots, an ended run still holding slots, and a holder with no run
  const active = await queuedRun('acme/web');
  expect(await admitRun({ ...deps(), caps: { global: 10, perRepo: 10 } }, active)).toMatchObject({ decision: 'admitted' });
  const ended = await queuedRun('acme/api');
  await db.store.slots.acquire(ended, 'acme/api', { global: 10, perRepo: 10 });
  await db.store.runs.patch(ended, { cancelRequested: true });
  await db.store.runs.transition(ended, 'CANCELLED', { error: { code: 'cancelled', message: 'c' } });
  const ghost = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
  await db.store.slots.acquire(ghost, 'acme/web', { global: 10, perRepo: 10 });
  // When the reconciler runs (twice: it is idempotent)
  const first = await reconcileSlots({ runs: db.store.runs, slots: db.store.slots, repos: config.repos.map((r) => r.name) });
  const second = await reconcileSlots({ runs: db.store.runs, slots: db.store.slots, repos: config.repos.map((r) => r.name) });
  // Then only the ended and the missing run lost their slots, in every semaphore
  expect(first.released.sort()).toEqual([ended, ghost].sort());
  expect(second.released).toEqual([]);
  expect(await db.store.slots.holders()).toContain(active);
  expect(await db.store.slots.holders()).not.toContain(ended);
  expect(await db.store.slots.holders()).not.toContain(ghost);
  expect(await db.store.slots.semaphoreHolders('acme/web')).toContain(active);
  expect(await db.store.slots.semaphoreHolders('acme/web')).not.toContain(ghost);
  expect(await db.store.slots.semaphoreHolders('acme/api')).not.toContain(ended);
});
