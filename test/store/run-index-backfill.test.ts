import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RunStatus } from '../../core/runs/lifecycle';
import type { RunRecord } from '../../core/store/ports';
import { backfillRunIndexKeys, backfillRunIndexKeysPage } from '../../adapters/dynamodb/run-index-backfill';
import { runIndexKeyNames } from '../../core/store/run-index-keys';
import { newRunItem } from '../../adapters/dynamodb/run-item';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { withFaults } from '../support/dynamo-faults';
import { queuedRun } from './run-fixtures';

describe('the backfill of the list indexes derived keys', () => {
  let db: DynaliteHarness;
  afterEach(async () => {
    await db.stop();
  });

  /** A run item as a version before the list indexes wrote it: no derived keys. */
  async function legacyRun(overrides: Partial<RunRecord>): Promise<RunRecord> {
    const run = queuedRun(overrides);
    const item: Record<string, unknown> = { ...newRunItem(run) };
    for (const name of runIndexKeyNames) delete item[name];
    await db.doc.send(new PutCommand({ TableName: db.names.runs, Item: item }));
    return run;
  }

  const ids = async (filters: { requester?: string; repo?: string; status?: RunStatus }) =>
    (await db.store.runs.list({ ...filters, limit: 100 })).runs.map((run) => run.runId);

  it('Given runs written before the list indexes and one with stale keys, When the backfill runs in interrupted passes, Then every filtered list shows them, each item is written once, and a second pass writes nothing', async () => {
    db = await startDynalite();
    // Given 30 runs written without the derived keys, and one whose keys a previous version left stale
    const old: RunRecord[] = [];
    for (let i = 0; i < 30; i += 1)
      old.push(await legacyRun({ requester: i % 2 ? 'alice' : 'bob', repo: 'acme/widgets', status: i % 3 ? 'QUEUED' : 'SUCCEEDED' }));
    const stale = queuedRun({ requester: 'alice', repo: 'acme/widgets' });
    await db.doc.send(new PutCommand({ TableName: db.names.runs, Item: { ...newRunItem(stale), status: 'SUCCEEDED' } }));
    // The composite lists miss the old ones; the stale one is under its old status there, and a page leaves it out because its item no longer matches (the single-attribute lists find them all)
    expect(await ids({ requester: 'alice', status: 'QUEUED' })).toEqual([]);
    expect((await ids({ requester: 'alice' })).length).toBe(16);

    // When a pass stops after two pages of 7, and another resumes from the position it reported
    const first = await backfillRunIndexKeysPage(db.doc, db.names.runs, undefined, 7);
    const second = await backfillRunIndexKeysPage(db.doc, db.names.runs, first.next, 7);
    expect(second.next).toBeDefined();
    const rest = await backfillRunIndexKeys(db.doc, db.names.runs, { start: second.next, pageSize: 7 });
    // Then every item was seen once and written once
    expect(first.scanned + second.scanned + rest.scanned).toBe(31);
    expect(first.updated + second.updated + rest.updated).toBe(31);
    const newest = (runs: RunRecord[]) => runs.map((run) => run.runId).sort((a, b) => (a < b ? 1 : -1));
    expect(await ids({ requester: 'alice', status: 'QUEUED' })).toEqual(
      newest(old.filter((run) => run.requester === 'alice' && run.status === 'QUEUED')),
    );
    expect(await ids({ requester: 'alice', status: 'SUCCEEDED' })).toContain(stale.runId);
    expect(await ids({ requester: 'bob', repo: 'acme/widgets', status: 'SUCCEEDED' })).toEqual(
      newest(old.filter((run) => run.requester === 'bob' && run.status === 'SUCCEEDED')),
    );
    expect(await ids({ repo: 'acme/widgets', status: 'SUCCEEDED' })).toEqual(
      newest([...old.filter((run) => run.status === 'SUCCEEDED'), stale]),
    );
    expect(await ids({ requester: 'alice', repo: 'acme/widgets', status: 'QUEUED' })).not.toContain(stale.runId);
    // And a second full pass writes nothing
    expect(await backfillRunIndexKeys(db.doc, db.names.runs, { pageSize: 7 })).toEqual({ scanned: 31, updated: 0, raced: 0 });
  });

  it('Given a transition racing the backfill between its read and its write, When the backfill runs, Then its stale write is refused and the item keeps the keys of its new status', async () => {
    db = await startDynalite();
    const run = await legacyRun({ requester: 'carol', repo: 'acme/widgets' });
    // Given a transition to STARTING that lands between the backfill's read and its write
    const faults = withFaults(db.doc);
    const race = faults.before({ command: UpdateCommand, table: db.names.runs, key: { runId: run.runId } }, async (real) => {
      await db.store.runs.transition(run.runId, 'STARTING');
      expect(real).toBeDefined();
    });
    // When the backfill runs
    const total = await backfillRunIndexKeys(faults.doc, db.names.runs);
    // Then its stale write is refused, and the item keeps the keys of its new status
    expect(race.fired).toBe(1);
    expect(total).toEqual({ scanned: 1, updated: 0, raced: 1 });
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.runs, Key: { runId: run.runId } }));
    expect(Item).toMatchObject({
      status: 'STARTING',
      repoStatus: 'acme/widgets#STARTING',
      requesterStatus: 'carol#STARTING',
      requesterRepoStatus: 'carol#acme/widgets#STARTING',
    });
    // The transition wrote only the status keys: requesterRepo comes with the next pass
    expect(await backfillRunIndexKeys(db.doc, db.names.runs)).toEqual({ scanned: 1, updated: 1, raced: 0 });
    expect(await ids({ requester: 'carol', repo: 'acme/widgets' })).toEqual([run.runId]);
    expect(await ids({ requester: 'carol', status: 'STARTING' })).toEqual([run.runId]);
  });
});
