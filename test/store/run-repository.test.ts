import { RunNotFoundError } from '../../core/errors';
import { IllegalTransitionError } from '../../core/runs/lifecycle';
import { RunAlreadyExistsError } from '../../core/store';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { queuedRun } from './run-fixtures';

describe('run repository', () => {
  let db: DynaliteHarness;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db.stop();
  });

  it('stores a run and reads it back unchanged', async () => {
    // Given a queued run
    const run = queuedRun({ labels: ['deps'], issue: 42, baseBranch: 'main' });
    // When it is created
    await db.store.runs.create(run);
    // Then it reads back as written
    expect(await db.store.runs.get(run.runId)).toEqual(run);
  });

  it('refuses a second run with the same id', async () => {
    const run = queuedRun();
    await db.store.runs.create(run);
    await expect(db.store.runs.create({ ...run, prompt: 'other' })).rejects.toBeInstanceOf(RunAlreadyExistsError);
    expect((await db.store.runs.get(run.runId))?.prompt).toBe(run.prompt);
  });

  it('answers undefined for an unknown run', async () => {
    expect(await db.store.runs.get(queuedRun().runId)).toBeUndefined();
  });

  it('moves a run along the lifecycle, applying the patch in the same write', async () => {
    // Given a queued run
    const run = queuedRun();
    await db.store.runs.create(run);
    // When it starts and then runs
    await db.store.runs.transition(run.runId, 'STARTING', { queuePosition: null });
    const running = await db.store.runs.transition(run.runId, 'RUNNING', { startedAt: '2030-01-02T03:05:00.000Z', branch: 'nightshift/x' });
    // Then the stored run has the new status and the patched fields
    expect(running).toMatchObject({ status: 'RUNNING', queuePosition: null, startedAt: '2030-01-02T03:05:00.000Z', branch: 'nightshift/x' });
    expect(await db.store.runs.get(run.runId)).toEqual(running);
  });

  it('refuses an edge the lifecycle does not have and changes nothing', async () => {
    // Given a queued run
    const run = queuedRun();
    await db.store.runs.create(run);
    // When it is asked to jump to RUNNING or back to QUEUED
    const jump = db.store.runs.transition(run.runId, 'RUNNING', { startedAt: '2030-01-02T03:05:00.000Z' });
    // Then the move is refused naming both statuses, and the run is untouched
    await expect(jump).rejects.toMatchObject({ name: 'IllegalTransitionError', from: 'QUEUED', to: 'RUNNING' });
    await expect(db.store.runs.transition(run.runId, 'QUEUED')).rejects.toBeInstanceOf(IllegalTransitionError);
    expect(await db.store.runs.get(run.runId)).toEqual(run);
  });

  it('lets exactly one of many racing transitions out of a state win', async () => {
    // Given a running run
    const run = queuedRun();
    await db.store.runs.create(run);
    await db.store.runs.transition(run.runId, 'STARTING');
    await db.store.runs.transition(run.runId, 'RUNNING');
    // When twenty writers race to end it, half as SUCCEEDED and half as CANCELLED
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => db.store.runs.transition(run.runId, i % 2 === 0 ? 'SUCCEEDED' : 'CANCELLED', { finishedAt: `2030-01-02T04:00:${String(i).padStart(2, '0')}.000Z` })),
    );
    // Then exactly one wins and the others are refused as illegal (terminal runs do not move)
    const winners = results.filter((result) => result.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(IllegalTransitionError);
    const stored = await db.store.runs.get(run.runId);
    expect(stored).toEqual((winners[0] as PromiseFulfilledResult<unknown>).value);
  });

  it('keeps terminal runs immutable unless the caller says otherwise', async () => {
    // Given a cancelled run
    const run = queuedRun();
    await db.store.runs.create(run);
    await db.store.runs.transition(run.runId, 'CANCELLED', { error: { code: 'cancelled', message: 'cancelled by alice' } });
    // When it is patched, or moved again
    await expect(db.store.runs.patch(run.runId, { prUrl: 'https://example.test/pr/1' })).rejects.toMatchObject({ name: 'IllegalTransitionError', from: 'CANCELLED' });
    await expect(db.store.runs.transition(run.runId, 'FAILED')).rejects.toBeInstanceOf(IllegalTransitionError);
    // Then nothing changed; an explicit allowTerminal patch (finalize's late PR link) is the only way in
    expect((await db.store.runs.get(run.runId))?.prUrl).toBeNull();
    const patched = await db.store.runs.patch(run.runId, { prUrl: 'https://example.test/pr/1' }, { allowTerminal: true });
    expect(patched).toMatchObject({ status: 'CANCELLED', prUrl: 'https://example.test/pr/1' });
  });

  it('patches an active run without touching its status', async () => {
    const run = queuedRun();
    await db.store.runs.create(run);
    const patched = await db.store.runs.patch(run.runId, { cancelRequested: true, queuePosition: 3 });
    expect(patched).toEqual({ ...run, cancelRequested: true, queuePosition: 3 });
  });

  it('reports an unknown run on transition and patch', async () => {
    const { runId } = queuedRun();
    await expect(db.store.runs.transition(runId, 'STARTING')).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(db.store.runs.patch(runId, { queuePosition: 1 })).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it('refuses patches with fields it does not own', async () => {
    const run = queuedRun();
    await db.store.runs.create(run);
    await expect(db.store.runs.patch(run.runId, { status: 'SUCCEEDED' } as never)).rejects.toThrow();
    expect(await db.store.runs.get(run.runId)).toEqual(run);
  });
});
