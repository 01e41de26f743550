import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { hashRunKey, newRunKey, runKeyMatches } from '../../core/runs/run-key';
import { newRunId } from '../../core/runs/run-id';
import { RunNotLaunchableError } from '../../adapters/dynamodb/run-keys';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { queuedRun } from './run-fixtures';

describe('run keys', () => {
  let db: DynaliteHarness;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db.stop();
  });

  it("Given a queued run, Then it gets no run key; When it is admitted, Then a key is issued that opens it and only the key's hash is stored, never shown in the run record; When it has ended, Then no key is issued", async () => {
    // Given a queued run
    const run = queuedRun();
    await db.store.runs.create(run);
    // A queued run gets no key: it is not launching
    await expect(db.store.runKeys.issue(run.runId)).rejects.toBeInstanceOf(RunNotLaunchableError);
    // When it is admitted, the key opens it and the item holds the key's SHA-256 only
    await db.store.runs.transition(run.runId, 'STARTING');
    const key = await db.store.runKeys.issue(run.runId);
    expect(await db.store.runKeys.verify(run.runId, key)).toBe(true);
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.runs, Key: { runId: run.runId } }));
    expect(Item?.runKeyHash).toBe(hashRunKey(key));
    expect(JSON.stringify(Item)).not.toContain(key);
    // and the run record (what the API shows) does not carry it
    expect(JSON.stringify(await db.store.runs.get(run.runId))).not.toContain('runKeyHash');
    // Once the run ended nothing relaunches it
    await db.store.runs.transition(run.runId, 'CANCELLED');
    await expect(db.store.runKeys.issue(run.runId)).rejects.toBeInstanceOf(RunNotLaunchableError);
  });

  it('Given a run without a key, When any key is verified, Then it opens nothing; When the run is unknown, Then it is RunNotFoundError', async () => {
    const run = queuedRun();
    await db.store.runs.create(run);
    expect(await db.store.runKeys.verify(run.runId, newRunKey())).toBe(false);
    await expect(db.store.runKeys.verify(newRunId(), newRunKey())).rejects.toMatchObject({ name: 'RunNotFoundError' });
  });

  it('Given a stored key hash, When a key is matched against it, Then only that very key matches, and never a longer key or a missing, upper-cased or malformed hash', () => {
    const key = newRunKey();
    expect(runKeyMatches(key, hashRunKey(key))).toBe(true);
    expect(runKeyMatches(`${key}x`, hashRunKey(key))).toBe(false);
    expect(runKeyMatches(key, undefined)).toBe(false);
    expect(runKeyMatches(key, hashRunKey(key).toUpperCase())).toBe(false);
    expect(runKeyMatches(key, 'abc')).toBe(false);
  });
});
