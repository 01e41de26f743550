import { BatchGetCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunStatus } from '../../core/runs/lifecycle';
import type { RunListQuery, RunRecord } from '../../core/store/ports';
import { createListingRunRepository } from '../../adapters/dynamodb/run-list';
import { runsListIndexes } from '../../adapters/dynamodb/tables';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { withFaults } from '../support/dynamo-faults';
import { queuedRun } from './run-fixtures';

/** What one list call sent: the index keys its queries read and the items its batch gets read. */
interface Reads {
  queries: number;
  indexKeys: number;
  batchGets: number;
  items: number;
  indexes: string[];
}

/** The real dynalite client, counting the list's Query and BatchGetItem answers (nothing is mocked). */
function counting(doc: DynamoDBDocumentClient): { doc: DynamoDBDocumentClient; take(): Reads } {
  let reads: Reads = { queries: 0, indexKeys: 0, batchGets: 0, items: 0, indexes: [] };
  const send = async (command: unknown) => {
    const answer = (await (doc.send as (c: unknown) => Promise<Record<string, unknown>>)(command)) as Record<string, never>;
    if (command instanceof QueryCommand) {
      reads.queries += 1;
      reads.indexKeys += ((answer.Items as unknown[] | undefined) ?? []).length;
      reads.indexes.push(String(command.input.IndexName));
    }
    if (command instanceof BatchGetCommand) {
      reads.batchGets += 1;
      for (const items of Object.values((answer.Responses as Record<string, unknown[]> | undefined) ?? {})) reads.items += items.length;
    }
    return answer;
  };
  return {
    doc: new Proxy(doc, { get: (target, property, receiver) => (property === 'send' ? send : Reflect.get(target, property, receiver)) }),
    take() {
      const taken = reads;
      reads = { queries: 0, indexKeys: 0, batchGets: 0, items: 0, indexes: [] };
      return taken;
    },
  };
}

/** A small deterministic generator, so a failure replays. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('run list on the KEYS_ONLY list indexes', () => {
  let db: DynaliteHarness;
  const stored: RunRecord[] = [];
  const requesters = ['alice', 'bob', 'carol#ops', 'dan%20'];
  const repos = ['acme/widgets', 'acme/gadgets', 'acme/tools'];
  const statuses: RunStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'];

  async function store(run: RunRecord, status: RunStatus): Promise<void> {
    await db.store.runs.create(run);
    if (status !== 'QUEUED') {
      await db.store.runs.transition(run.runId, 'STARTING');
      await db.store.runs.transition(run.runId, 'RUNNING');
    }
    if (status === 'SUCCEEDED' || status === 'FAILED') await db.store.runs.transition(run.runId, status);
    stored.push({ ...run, status });
  }

  beforeAll(async () => {
    db = await startDynalite();
    // Given 1,000 runs of one requester on one repo, all succeeded (none matches the filters below) ...
    const bulk = Array.from({ length: 1_000 }, () => queuedRun({ requester: 'bulk', repo: 'acme/bulk' }));
    for (let i = 0; i < bulk.length; i += 50) {
      await Promise.all(bulk.slice(i, i + 50).map((run) => db.store.runs.create(run)));
    }
    stored.push(...bulk);
    // ... and 120 runs spread over 4 requesters (two with `#` and `%` in them), 3 repos and 4 statuses
    const random = seeded(14);
    for (let i = 0; i < 120; i += 1) {
      const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
      await store(queuedRun({ requester: pick(requesters), repo: pick(repos) }), pick(statuses));
    }
  }, 120_000);
  afterAll(async () => {
    await db.stop();
  });

  const newestFirst = (runs: RunRecord[]) => [...runs].sort((a, b) => (a.runId < b.runId ? 1 : -1)).map((run) => run.runId);

  it('Given 1,000 runs that do not match, When a filtered list is paged, Then each page reads at most limit+1 index keys and limit items', async () => {
    const reader = counting(db.doc);
    const runs = createListingRunRepository(reader.doc, db.names.runs);
    for (const filters of [
      { requester: 'alice' },
      { repo: 'acme/tools', status: 'RUNNING' as const },
      { requester: 'bob', repo: 'acme/widgets', status: 'QUEUED' as const },
      { status: 'FAILED' as const },
    ]) {
      let cursor: string | undefined;
      do {
        const page = await runs.list({ ...filters, limit: 3, ...(cursor ? { cursor } : {}) });
        const reads = reader.take();
        // One Query of at most limit+1 keys, and one BatchGetItem of at most limit items
        expect(reads.queries).toBe(1);
        expect(reads.indexKeys).toBeLessThanOrEqual(4);
        expect(reads.batchGets).toBeLessThanOrEqual(1);
        expect(reads.items).toBeLessThanOrEqual(3);
        expect(reads.items).toBe(page.runs.length);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
  });

  it('Given the 1,000 bulk runs, When a page of the unfiltered list is read, Then it keeps the same bound', async () => {
    const reader = counting(db.doc);
    const page = await createListingRunRepository(reader.doc, db.names.runs).list({ limit: 100 });
    const reads = reader.take();
    expect(page.runs.map((run) => run.runId)).toEqual(newestFirst(stored).slice(0, 100));
    expect(reads).toMatchObject({ queries: 1, indexKeys: 101, batchGets: 1, items: 100, indexes: [runsListIndexes.all.name] });
  });

  it('Given generated runs, When every filter combination is listed across pages, Then each returns exactly what a scan and a filter find, newest first', async () => {
    // The whole table, read the slow way
    const scanned: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const answer = await db.doc.send(new ScanCommand({ TableName: db.names.runs, ...(start ? { ExclusiveStartKey: start } : {}) }));
      scanned.push(...(answer.Items ?? []));
      start = answer.LastEvaluatedKey;
    } while (start);
    const random = seeded(7);
    const pick = <T>(values: readonly T[]): T | undefined => (random() < 0.35 ? undefined : values[Math.floor(random() * values.length)]);
    const indexesUsed = new Set<string>();
    const reader = counting(db.doc);
    const runs = createListingRunRepository(reader.doc, db.names.runs);
    for (let trial = 0; trial < 60; trial += 1) {
      const filters: Omit<RunListQuery, 'limit'> = {};
      const requester = pick(requesters);
      const repo = pick(repos);
      const status = pick(statuses);
      if (requester) filters.requester = requester;
      if (repo) filters.repo = repo;
      if (status) filters.status = status;
      const expected = scanned
        .filter(
          (item) => (!requester || item.requester === requester) && (!repo || item.repo === repo) && (!status || item.status === status),
        )
        .map((item) => String(item.runId))
        .sort((a, b) => (a < b ? 1 : -1));
      const limit = 1 + Math.floor(random() * 7);
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; ; pages += 1) {
        if (pages > 2_000) throw new Error('paging did not end');
        const page = await runs.list({ ...filters, limit, ...(cursor ? { cursor } : {}) });
        ids.push(...page.runs.map((run) => run.runId));
        cursor = page.nextCursor ?? undefined;
        if (!cursor) break;
      }
      for (const index of reader.take().indexes) indexesUsed.add(index);
      expect({ filters, ids }).toEqual({ filters, ids: expected });
    }
    // Every one of the eight indexes answered some trial
    expect([...indexesUsed].sort()).toEqual(
      Object.values(runsListIndexes)
        .map((index) => index.name)
        .sort(),
    );
  }, 120_000);

  it('Given a listed run, When its status changes, Then it moves between the status partitions', async () => {
    const run = queuedRun({ requester: 'erin', repo: 'acme/moves' });
    await db.store.runs.create(run);
    const ids = async (status: RunStatus) =>
      (await db.store.runs.list({ requester: 'erin', repo: 'acme/moves', status, limit: 10 })).runs.map((r) => r.runId);
    const byRepoStatus = async (status: RunStatus) =>
      (await db.store.runs.list({ repo: 'acme/moves', status, limit: 10 })).runs.map((r) => r.runId);
    expect(await ids('QUEUED')).toEqual([run.runId]);
    await db.store.runs.transition(run.runId, 'STARTING');
    await db.store.runs.transition(run.runId, 'RUNNING');
    expect(await ids('QUEUED')).toEqual([]);
    expect(await ids('RUNNING')).toEqual([run.runId]);
    expect(await byRepoStatus('RUNNING')).toEqual([run.runId]);
    await db.store.runs.transition(run.runId, 'SUCCEEDED');
    expect(await ids('RUNNING')).toEqual([]);
    expect(await ids('SUCCEEDED')).toEqual([run.runId]);
    expect((await db.store.runs.list({ requester: 'erin', status: 'SUCCEEDED', limit: 10 })).runs.map((r) => r.runId)).toEqual([run.runId]);
    // requester+repo holds no status: the run stays in its one partition
    expect((await db.store.runs.list({ requester: 'erin', repo: 'acme/moves', limit: 10 })).runs.map((r) => r.runId)).toEqual([run.runId]);
  });

  it('Given a run whose status moved on between the index read and the item read, When the page is built, Then it is left out', async () => {
    // Given two queued runs, one of which starts just after the list read the index
    const moving = queuedRun({ requester: 'frank', repo: 'acme/lag' });
    const staying = queuedRun({ requester: 'frank', repo: 'acme/lag' });
    await db.store.runs.create(moving);
    await db.store.runs.create(staying);
    const faults = withFaults(db.doc);
    const race = faults.before({ command: BatchGetCommand }, async () => {
      await db.store.runs.transition(moving.runId, 'STARTING');
    });
    // When frank's queued runs are listed
    const page = await createListingRunRepository(faults.doc, db.names.runs).list({ requester: 'frank', status: 'QUEUED', limit: 10 });
    // Then the started run is not shown as queued
    expect(race.fired).toBe(1);
    expect(page.runs.map((run) => [run.runId, run.status])).toEqual([[staying.runId, 'QUEUED']]);
  });

  it('Given BatchGetItem leaves keys unprocessed, When a page is read, Then it asks again for them and keeps index order', async () => {
    // Given a client whose first BatchGetItem answers only the first key and leaves the rest unprocessed
    let first = true;
    const send = async (command: unknown) => {
      const answer = (await (db.doc.send as (c: unknown) => Promise<Record<string, never>>)(command)) as Record<
        string,
        Record<string, Record<string, unknown>[]>
      >;
      if (command instanceof BatchGetCommand && first) {
        first = false;
        const table = db.names.runs;
        const keys = (command.input.RequestItems?.[table]?.Keys ?? []) as Record<string, unknown>[];
        const kept = answer.Responses[table].filter((item) => item.runId === keys[0].runId);
        return { ...answer, Responses: { [table]: kept }, UnprocessedKeys: { [table]: { Keys: keys.slice(1) } } };
      }
      return answer;
    };
    const flaky = new Proxy(db.doc, {
      get: (target, property, receiver) => (property === 'send' ? send : Reflect.get(target, property, receiver)),
    });
    const page = await createListingRunRepository(flaky, db.names.runs).list({ requester: 'alice', limit: 5 });
    const expected = newestFirst(stored.filter((run) => run.requester === 'alice')).slice(0, 5);
    expect(first).toBe(false);
    expect(page.runs.map((run) => run.runId)).toEqual(expected);
  });
});
