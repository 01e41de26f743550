import { admitRun, type AdmissionDeps } from '../../core/runs/admission';
import { WAKE_CLAIM_MS } from '../../core/runs/queue-wake';
import type { RunPriority } from '../../core/runs/schemas';
import { submitRun } from '../../core/runs/submit';
import { startDynalite } from '../support/dynalite';
import { freshEachTest } from '../support/fresh-each-test';
import { stackFixture, testConfig } from '../support/test-config';
import { admissionDepsOf } from '../support/admission-deps';

/**
 * A run about to take a free slot leaves it to the runs ahead of it in the queue that the slot admits
 * (core/runs/queue-turn.ts): a re-check whose timer fired, a new run, over dynalite's real queue and
 * semaphores. One global slot unless a test says otherwise; each test on a fresh dynalite.
 */
const db = freshEachTest(startDynalite);
const config = testConfig(stackFixture, { repos: ['acme/web', 'acme/api', 'acme/ops', 'acme/docs'].map((name) => ({ name })) });
const now = new Date('2030-06-01T01:00:00.000Z');

async function submitted(repo: string, priority?: RunPriority): Promise<string> {
  const { runId } = await submitRun(
    {
      config,
      ...db.store,
      stopRunTasks: async () => undefined,
      startExecution: async () => undefined,
      now: () => new Date(now.getTime() - 60_000),
    },
    { request: { repo, prompt: 'Tidy the README', ...(priority ? { priority } : {}) }, requester: 'bob', source: 'cli' },
  );
  return runId;
}

const deps = (overrides: Partial<AdmissionDeps> = {}): AdmissionDeps => admissionDepsOf(db.store, { now: () => now, ...overrides });

/** Admit as the state machine calls it: with the token its Admit state waits on. */
const admit = (runId: string, d: AdmissionDeps = deps()) => admitRun(d, runId, undefined, `token-of-${runId}-${Math.random()}`);

/** A holder takes the one slot, `ahead` and `behind` wait for it in that order, then the holder gives it back. */
async function twoWaitingAndAFreeSlot(aheadRepo = 'acme/api', behindRepo = 'acme/web', d: AdmissionDeps = deps()) {
  const holder = await submitted('acme/ops');
  expect((await admit(holder, d)).decision).toBe('admitted');
  const ahead = await submitted(aheadRepo);
  const behind = await submitted(behindRepo);
  expect((await admit(ahead, d)).decision).toBe('queued');
  expect((await admit(behind, d)).decision).toBe('queued');
  await db.store.slots.release(holder, 'acme/ops', 'bob');
  return { ahead, behind };
}

describe('a free slot goes to the run ahead in the queue', () => {
  it('Given two runs waiting and a slot just freed, When the run behind is admitted first (its re-check timer fired before the wake-up), Then it waits in its place and the run ahead takes the slot', async () => {
    const { ahead, behind } = await twoWaitingAndAFreeSlot();
    expect(await admit(behind)).toEqual({ decision: 'queued', queuePosition: 2, wokenAt: null });
    expect(await db.store.slots.holders()).toEqual([]);
    expect(await admit(ahead)).toMatchObject({ decision: 'admitted' });
    expect(await db.store.slots.holders()).toEqual([ahead]);
    expect((await db.store.queue.head(10)).map((e) => e.runId)).toEqual([behind]);
  });

  it('Given a run waiting and a free slot, When a new run is admitted, Then it queues behind the waiting one', async () => {
    const { ahead } = await twoWaitingAndAFreeSlot();
    const late = await submitted('acme/docs');
    expect(await admit(late)).toMatchObject({ decision: 'queued', queuePosition: 3 });
    expect(await admit(ahead)).toMatchObject({ decision: 'admitted' });
  });

  it('Given runs waiting at normal priority and a free slot, When a new high-priority run is admitted, Then nothing is ahead of it and it takes the slot', async () => {
    await twoWaitingAndAFreeSlot();
    const urgent = await submitted('acme/docs', 'high');
    expect(await admit(urgent)).toMatchObject({ decision: 'admitted' });
  });

  it('Given the run ahead was woken for the free slot (claimed within WAKE_CLAIM_MS), When the run behind re-checks, Then it waits; When the woken run comes back, Then it takes the slot', async () => {
    const { ahead, behind } = await twoWaitingAndAFreeSlot();
    expect(await db.store.queue.claim(ahead, new Date(now.getTime() - 1_000).toISOString())).toEqual(expect.any(String));
    expect((await admit(behind)).decision).toBe('queued');
    expect((await admit(ahead)).decision).toBe('admitted');
  });

  it('Given the run behind is the one a waker woke (its own entry claimed just now), Then it is its turn even with a run ahead', async () => {
    const { behind } = await twoWaitingAndAFreeSlot('acme/api', 'acme/web');
    expect(await db.store.queue.claim(behind, new Date(now.getTime() - 1_000).toISOString())).toEqual(expect.any(String));
    expect((await admit(behind)).decision).toBe('admitted');
  });

  it('Given the run ahead was woken longer than WAKE_CLAIM_MS ago and never came back, Then it holds nothing back', async () => {
    const { ahead, behind } = await twoWaitingAndAFreeSlot();
    expect(await db.store.queue.claim(ahead, new Date(now.getTime() - WAKE_CLAIM_MS - 1_000).toISOString())).toEqual(expect.any(String));
    expect((await admit(behind)).decision).toBe('admitted');
  });

  it('Given the run ahead waits for something else than a slot (held by its thread or reviews), Then the run behind takes the free slot', async () => {
    const { ahead, behind } = await twoWaitingAndAFreeSlot();
    await db.store.queue.wait({
      runId: ahead,
      repo: 'acme/api',
      requester: 'bob',
      priority: 'normal',
      held: true,
      at: now.toISOString(),
      token: 'held-token',
    });
    expect((await admit(behind)).decision).toBe('admitted');
  });

  it("Given the run ahead's repository is at its cap, When a run of another repository behind it is admitted, Then it takes the free global slot (FIFO per cap)", async () => {
    const wide = deps({ caps: { global: 2, perRepo: 1 } });
    const api = await submitted('acme/api');
    expect((await admit(api, wide)).decision).toBe('admitted');
    const filler = await submitted('acme/ops');
    expect((await admit(filler, wide)).decision).toBe('admitted');
    const apiAgain = await submitted('acme/api');
    const web = await submitted('acme/web');
    expect((await admit(apiAgain, wide)).decision).toBe('queued');
    expect((await admit(web, wide)).decision).toBe('queued');
    await db.store.slots.release(filler, 'acme/ops', 'bob');
    // acme/api still holds its one per-repo slot: the run ahead cannot take the free one, so it is the web run's.
    expect((await admit(web, wide)).decision).toBe('admitted');
    expect((await admit(apiAgain, wide)).decision).toBe('queued');
  });
});
