import { admitRun, MAX_QUEUED_MINUTES } from '../../core/runs/admission';
import { submitRun } from '../../core/runs/submit';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { testConfig } from '../infra/synth';

let db: DynaliteHarness;
const config = testConfig();
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

async function queuedRun(repo: string): Promise<string> {
  const { runId } = await submitRun(
    { config, ...db.store, stopRunTasks: async () => undefined, startExecution: async () => undefined },
    { request: { repo, prompt: 'Tidy the README' }, requester: 'bob', source: 'cli' },
  );
  return runId;
}

const deps = (now?: Date) => ({ runs: db.store.runs, events: db.store.events, slots: db.store.slots, caps: { global: 2, perRepo: 1 }, ...(now ? { now: () => now } : {}) });

test('given queued runs, when slots run out, then later runs queue in creation order; a retried admit stays admitted', async () => {
  const first = await queuedRun('acme/web');
  const second = await queuedRun('acme/web');
  const third = await queuedRun('acme/web');
  expect(await admitRun(deps(), first)).toEqual({ decision: 'admitted', queuePosition: null });
  expect(await admitRun(deps(), first)).toEqual({ decision: 'admitted', queuePosition: null });
  expect(await admitRun(deps(), third)).toEqual({ decision: 'queued', queuePosition: 2 });
  expect(await admitRun(deps(), second)).toEqual({ decision: 'queued', queuePosition: 1 });
  expect((await db.store.runs.get(third))?.queuePosition).toBe(2);
  expect((await db.store.runs.get(first))?.status).toBe('STARTING');
  expect(await db.store.slots.holders()).toEqual([first]);
});

test('given a run queued longer than the limit, admission expires it without taking a slot', async () => {
  const runId = await queuedRun('acme/api');
  const later = new Date(Date.now() + (MAX_QUEUED_MINUTES + 1) * 60_000);
  expect(await admitRun(deps(later), runId)).toEqual({ decision: 'expired', queuePosition: null });
  expect(await db.store.slots.holders()).not.toContain(runId);
});

test('an unknown run is an error the state machine retries, not a decision', async () => {
  await expect(admitRun(deps(), '01ARZ3NDEKTSV4RRFFQ69G5FAV')).rejects.toMatchObject({ name: 'RunNotFoundError' });
});
