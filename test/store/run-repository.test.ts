import { RunNotFoundError } from '../../core/errors';
import { IllegalTransitionError } from '../../core/runs/lifecycle';
import { RunAlreadyExistsError } from '../../adapters/dynamodb';
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

  it('Given a queued run, When it is created, Then it reads back unchanged', async () => {
    // Given a queued run
    const run = queuedRun({ labels: ['deps'], issue: 42, baseBranch: 'main' });
    // When it is created
    await db.store.runs.create(run);
    // Then it reads back as written
    expect(await db.store.runs.get(run.runId)).toEqual(run);
  });

  it('Given a stored run, When a second run with the same id is created, Then it is refused and the first is kept', async () => {
    const run = queuedRun();
    await db.store.runs.create(run);
    await expect(db.store.runs.create({ ...run, prompt: 'other' })).rejects.toBeInstanceOf(RunAlreadyExistsError);
    expect((await db.store.runs.get(run.runId))?.prompt).toBe(run.prompt);
  });

  it('Given an unknown run id, When it is read, Then the answer is undefined', async () => {
    expect(await db.store.runs.get(queuedRun().runId)).toBeUndefined();
  });

  it('Given a queued run, When it starts and then runs, Then each move applies its patch in the same write and the stored run has the new status and fields', async () => {
    // Given a queued run
    const run = queuedRun();
    await db.store.runs.create(run);
    // When it starts and then runs
    await db.store.runs.transition(run.runId, 'STARTING', { queuePosition: null });
    const running = await db.store.runs.transition(run.runId, 'RUNNING', { startedAt: '2030-01-02T03:05:00.000Z', branch: 'nightshift/x' });
    // Then the stored run has the new status and the patched fields
    expect(running).toMatchObject({
      status: 'RUNNING',
      queuePosition: null,
      startedAt: '2030-01-02T03:05:00.000Z',
      branch: 'nightshift/x',
    });
    expect(await db.store.runs.get(run.runId)).toEqual(running);
  });

  it('Given a queued run, When it is moved to RUNNING or back to QUEUED, Then the move is refused naming both statuses and the run is untouched', async () => {
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

  it("Given a running run, When twenty writers race to end it, Then exactly one wins, the others are refused as illegal and the stored run is the winner's", async () => {
    // Given a running run
    const run = queuedRun();
    await db.store.runs.create(run);
    await db.store.runs.transition(run.runId, 'STARTING');
    await db.store.runs.transition(run.runId, 'RUNNING');
    // When twenty writers race to end it, half as SUCCEEDED and half as CANCELLED
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        db.store.runs.transition(run.runId, i % 2 === 0 ? 'SUCCEEDED' : 'CANCELLED', {
          finishedAt: `2030-01-02T04:00:${String(i).padStart(2, '0')}.000Z`,
        }),
      ),
    );
    // Then exactly one wins and the others are refused as illegal (terminal runs do not move)
    const winners = results.filter((result) => result.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(IllegalTransitionError);
    const stored = await db.store.runs.get(run.runId);
    expect(stored).toEqual((winners[0] as PromiseFulfilledResult<unknown>).value);
  });

  it('Given a cancelled run, When it is patched or moved again, Then it is refused and nothing changes; When an allowTerminal patch comes, Then it is applied', async () => {
    // Given a cancelled run
    const run = queuedRun();
    await db.store.runs.create(run);
    await db.store.runs.transition(run.runId, 'CANCELLED', { error: { code: 'cancelled', message: 'cancelled by alice' } });
    // When it is patched, or moved again
    await expect(db.store.runs.patch(run.runId, { prUrl: 'https://example.test/pr/1' })).rejects.toMatchObject({
      name: 'IllegalTransitionError',
      from: 'CANCELLED',
    });
    await expect(db.store.runs.transition(run.runId, 'FAILED')).rejects.toBeInstanceOf(IllegalTransitionError);
    // Then nothing changed; an explicit allowTerminal patch (finalize's late PR link) is the only way in
    expect((await db.store.runs.get(run.runId))?.prUrl).toBeNull();
    const patched = await db.store.runs.patch(run.runId, { prUrl: 'https://example.test/pr/1' }, { allowTerminal: true });
    expect(patched).toMatchObject({ status: 'CANCELLED', prUrl: 'https://example.test/pr/1' });
  });

  it('Given an active run, When it is patched, Then the patched fields change and its status does not', async () => {
    const run = queuedRun();
    await db.store.runs.create(run);
    const patched = await db.store.runs.patch(run.runId, { cancelRequested: true, queuePosition: 3 });
    expect(patched).toEqual({ ...run, cancelRequested: true, queuePosition: 3 });
  });

  it('Given an unknown run, When it is transitioned or patched, Then it is RunNotFoundError', async () => {
    const { runId } = queuedRun();
    await expect(db.store.runs.transition(runId, 'STARTING')).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(db.store.runs.patch(runId, { queuePosition: 1 })).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it('Given a patch with a field the repository does not own, When it is applied, Then it is refused and the run is unchanged', async () => {
    const run = queuedRun();
    await db.store.runs.create(run);
    await expect(db.store.runs.patch(run.runId, { status: 'SUCCEEDED' } as never)).rejects.toThrow();
    expect(await db.store.runs.get(run.runId)).toEqual(run);
  });
});
