import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient, documentClientFor } from '../../adapters/dynamodb/client';
import { createStore } from '../../adapters/dynamodb';
import { tableDefinitions } from '../../adapters/dynamodb/create-tables';
import { runIndexKeyNames } from '../../core/store/run-index-keys';
import { newRunItem } from '../../adapters/dynamodb/run-item';
import { runsListIndexes } from '../../adapters/dynamodb/tables';
import { localTableNames, startLocalDynamo } from '../../local/dynamo-server';
import { RUNS_REBUILD_FILE } from '../../local/runs-table-upgrade';
import { queuedRun } from '../store/run-fixtures';

type DynaliteFactory = (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite = require('dynalite') as DynaliteFactory;
const listNames = new Set<string>(Object.values(runsListIndexes).map((index) => index.name));

/** A data directory as a version before the list indexes left it: the legacy runs table, items without derived keys. */
async function oldDataDir(dir: string, runs: ReturnType<typeof queuedRun>[], options: { newTableEmpty?: boolean } = {}): Promise<void> {
  const server = dynalite({ path: dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const client = createDynamoClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1' });
  try {
    for (const definition of tableDefinitions(localTableNames)) {
      const legacy = definition.TableName === localTableNames.runs && !options.newTableEmpty;
      await client.send(
        new CreateTableCommand(
          legacy
            ? {
                ...definition,
                GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes?.filter((index) => !listNames.has(String(index.IndexName))),
              }
            : definition,
        ),
      );
      // Stored ACTIVE before the server closes (dynalite turns a table ACTIVE after createTableMs)
      while ((await client.send(new DescribeTableCommand({ TableName: definition.TableName }))).Table?.TableStatus !== 'ACTIVE')
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const doc = documentClientFor(client);
    if (!options.newTableEmpty) {
      for (const run of runs) {
        const item: Record<string, unknown> = { ...newRunItem(run) };
        for (const name of runIndexKeyNames) delete item[name];
        await doc.send(new PutCommand({ TableName: localTableNames.runs, Item: item }));
      }
    }
  } finally {
    client.destroy();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

describe('a local data directory from before the run list indexes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ns-runs-upgrade-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const runs = Array.from({ length: 40 }, (_, i) =>
    queuedRun({ requester: i % 2 ? 'alice' : 'bob', repo: i % 4 < 2 ? 'acme/widgets' : 'acme/gadgets' }),
  );
  const newest = (ids: string[]) => [...ids].sort((a, b) => (a < b ? 1 : -1));

  it('Given a runs table made before the list indexes, When local mode starts, Then the table is made anew with them, every run kept and listed under every filter', async () => {
    await oldDataDir(dir, runs);
    const dynamo = await startLocalDynamo({ dataDir: dir });
    try {
      const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: dynamo.names.runs }));
      const indexes = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
      for (const name of listNames) expect(indexes.has(name)).toBe(true);
      const store = createStore(documentClientFor(dynamo.client), dynamo.names);
      expect((await store.runs.list({ limit: 100 })).runs.map((run) => run.runId)).toEqual(newest(runs.map((run) => run.runId)));
      const expected = newest(runs.filter((run) => run.requester === 'alice' && run.repo === 'acme/gadgets').map((run) => run.runId));
      expect(
        (await store.runs.list({ requester: 'alice', repo: 'acme/gadgets', status: 'QUEUED', limit: 100 })).runs.map((run) => run.runId),
      ).toEqual(expected);
      expect(existsSync(join(dir, RUNS_REBUILD_FILE))).toBe(false);
    } finally {
      await dynamo.stop();
    }
    // And a second start finds nothing to do and the same runs
    const again = await startLocalDynamo({ dataDir: dir });
    try {
      expect((await createStore(documentClientFor(again.client), again.names).runs.list({ limit: 100 })).runs).toHaveLength(40);
    } finally {
      await again.stop();
    }
  });

  it('Given the copy a rebuild cut short left behind, When local mode starts, Then the runs are put back from it', async () => {
    // Given a rebuild that stopped after creating the new table, before putting the runs back
    await oldDataDir(dir, runs, { newTableEmpty: true });
    writeFileSync(join(dir, RUNS_REBUILD_FILE), JSON.stringify(runs.map((run) => newRunItem(run))));
    // When local mode starts
    const dynamo = await startLocalDynamo({ dataDir: dir });
    try {
      // Then every run is back and listed
      const store = createStore(documentClientFor(dynamo.client), dynamo.names);
      expect((await store.runs.list({ requester: 'bob', status: 'QUEUED', limit: 100 })).runs.map((run) => run.runId)).toEqual(
        newest(runs.filter((run) => run.requester === 'bob').map((run) => run.runId)),
      );
      expect(existsSync(join(dir, RUNS_REBUILD_FILE))).toBe(false);
    } finally {
      await dynamo.stop();
    }
  });
});
