import { admitRun, type AdmissionDeps } from '../../core/runs/admission';
import { finalizeRun } from '../../core/runs/finalize';
import { submitRun } from '../../core/runs/submit';
import type { RunRepository } from '../../core/store/ports';
import { withDynalite } from '../support/dynalite';
import { stackFixture, testConfig } from '../support/test-config';
import { admissionDepsOf } from '../support/admission-deps';

/**
 * Admission against dynalite when a cancel races with it (the run ends between admission's read and
 * its slots, or between its slots and STARTING), and the queue's time limit in hours, not in a constant.
 */
const db = withDynalite();
const config = testConfig(stackFixture);
const submittedAt = new Date('2030-06-01T00:00:00.000Z');
const hours = (n: number) => new Date(submittedAt.getTime() + n * 3_600_000);

async function queuedRun(repo: string): Promise<string> {
  const { runId } = await submitRun(
    { config, ...db.store, stopRunTasks: async () => undefined, startExecution: async () => undefined, now: () => submittedAt },
    { request: { repo, prompt: 'Tidy the README' }, requester: 'bob', source: 'cli' },
  );
  return runId;
}

const deps = (overrides: Partial<AdmissionDeps> = {}): AdmissionDeps =>
  admissionDepsOf(db.store, { caps: { global: 5, perRepo: 5 }, now: () => hours(1), ...overrides });

async function cancel(runId: string): Promise<void> {
  await finalizeRun(
    { ...db.store, stopRunTasks: async () => undefined },
    { runId, status: 'CANCELLED', reason: { code: 'cancelled', message: 'cancelled by its requester' } },
  );
}

/** The run repository, with `between` run once right after admission's first read of the run. */
function racingRuns(between: () => Promise<void>): RunRepository & { raced: () => boolean } {
  let raced = false;
  return {
    ...db.store.runs,
    async get(runId: string) {
      const read = await db.store.runs.get(runId);
      if (!raced) {
        raced = true;
        await between();
      }
      return read;
    },
    raced: () => raced,
  };
}

describe('admission when a cancel races with it', () => {
  it('Given a queued run, When it is cancelled (ended, its slots freed) after admission read it but before admission took its slots, Then admission gives the slots back and reports it ended', async () => {
    const runId = await queuedRun('acme/api');
    const runs = racingRuns(() => cancel(runId));
    await expect(admitRun(deps({ runs }), runId)).resolves.toEqual({ decision: 'ended', queuePosition: null });
    expect(runs.raced()).toBe(true);
    expect((await db.store.runs.get(runId))?.status).toBe('CANCELLED');
    expect(await db.store.slots.holders()).not.toContain(runId);
    expect(await db.store.slots.semaphoreHolders('acme/api')).not.toContain(runId);
    expect(await db.store.slots.semaphoreHolders(null)).not.toContain(runId);
  });

  it('Given a queued run, When a cancel is requested after admission read it, Then the run is started, reported cancelled, and keeps its slots for Finalize to free', async () => {
    const runId = await queuedRun('acme/web');
    const runs = racingRuns(async () => {
      await db.store.runs.patch(runId, { cancelRequested: true });
    });
    await expect(admitRun(deps({ runs }), runId)).resolves.toEqual({ decision: 'cancelled', queuePosition: null });
    expect((await db.store.runs.get(runId))?.status).toBe('STARTING');
    expect(await db.store.slots.semaphoreHolders('acme/web')).toContain(runId);
    await cancel(runId);
    expect(await db.store.slots.semaphoreHolders('acme/web')).not.toContain(runId);
    expect(await db.store.slots.holders()).not.toContain(runId);
  });

  it('Given a cancel already requested, When the run is admitted, Then it is reported cancelled without taking a slot', async () => {
    const runId = await queuedRun('acme/web');
    await db.store.runs.patch(runId, { cancelRequested: true });
    await expect(admitRun(deps(), runId)).resolves.toEqual({ decision: 'cancelled', queuePosition: null });
    expect(await db.store.slots.holders()).not.toContain(runId);
  });
});

describe('how long a run may wait in the queue', () => {
  it('Given a run submitted 12 hours ago to the second, When it is admitted, Then it is not expired; one second later it would be', async () => {
    const waited = await queuedRun('acme/api');
    expect(await admitRun(deps({ now: () => new Date(hours(12).getTime() + 1_000) }), waited)).toEqual({
      decision: 'expired',
      queuePosition: null,
    });
    expect(await db.store.slots.holders()).not.toContain(waited);
    const onTime = await queuedRun('acme/api');
    expect((await admitRun(deps({ now: () => hours(12) }), onTime)).decision).toBe('admitted');
  });

  it('Given a run submitted 11 hours ago, When it is admitted, Then it is admitted (the limit is 12 hours, not 12 minutes)', async () => {
    const runId = await queuedRun('acme/web');
    expect((await admitRun(deps({ now: () => hours(11) }), runId)).decision).toBe('admitted');
  });
});
