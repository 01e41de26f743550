import { scanRunsInStatuses } from '../../adapters/dynamodb/run-scan';
import { activeStatuses } from '../../core/runs/lifecycle';
import { jsonLog } from '../../local/local-log';
import { recoverLocalRuns } from '../../local/recovery';
import { startDynalite } from '../support/dynalite';
import { freshEachTest } from '../support/fresh-each-test';
import { queuedRun } from '../store/run-fixtures';

/**
 * Local restart recovery reads the runs table, not a status index: dynalite writes a run's index
 * entries (old ones deleted, then new ones put) before its item, so a platform killed in between leaves
 * a run that no status index lists (test/local/restart-recovery.test.ts once saw a STARTING run survive a
 * restart that way under load).
 */
describe('local restart recovery reads the runs table', () => {
  const db = freshEachTest(startDynalite);

  it('Given runs QUEUED, STARTING and RUNNING and one already ended, When the platform recovers, Then it reads the active ones from the table and ends each FAILED local_restart, once', async () => {
    const queued = queuedRun();
    const starting = queuedRun();
    const running = queuedRun();
    const done = queuedRun();
    for (const run of [queued, starting, running, done]) await db.store.runs.create(run);
    await db.store.runs.transition(starting.runId, 'STARTING');
    await db.store.runs.transition(running.runId, 'STARTING');
    await db.store.runs.transition(running.runId, 'RUNNING');
    await db.store.runs.transition(done.runId, 'CANCELLED', { error: { code: 'cancelled', message: 'c' } });
    expect((await scanRunsInStatuses(db.doc, db.names.runs, activeStatuses)).map((r) => r.runId).sort()).toEqual(
      [queued.runId, starting.runId, running.runId].sort(),
    );

    // As the local platform recovers at start (local/platform.ts).
    const recover = () =>
      recoverLocalRuns(
        db.store,
        { doc: db.doc, runsTable: db.names.runs },
        async () => undefined,
        jsonLog(() => undefined),
      );
    const { ended } = await recover();
    expect(ended.sort()).toEqual([queued.runId, starting.runId, running.runId].sort());
    for (const run of [queued, starting, running])
      expect(await db.store.runs.get(run.runId)).toMatchObject({ status: 'FAILED', error: { code: 'local_restart' } });
    expect(await db.store.runs.get(done.runId)).toMatchObject({ status: 'CANCELLED' });
    // Ended runs are no longer active: a second recovery ends nothing.
    expect((await recover()).ended).toEqual([]);
    expect(await scanRunsInStatuses(db.doc, db.names.runs, [])).toEqual([]);
  });
});
