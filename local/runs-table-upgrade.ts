import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClientFor } from '../adapters/dynamodb/client';
import { runsListMode, tableDefinitions } from '../adapters/dynamodb/create-tables';
import { backfillRunIndexKeys } from '../adapters/dynamodb/run-index-backfill';
import type { TableNames } from '../adapters/dynamodb/tables';

/** The copy of the runs table a rebuild keeps in the data directory until the new table holds every item. */
export const RUNS_REBUILD_FILE = 'runs-rebuild.json';

/**
 * Gives a local data directory made before the list indexes its runs table with them. dynalite's
 * UpdateTable cannot add an index, so the table is made anew: its items are first written to
 * `runs-rebuild.json` in the data directory (renamed into place, so the file is whole or absent), the
 * table deleted and created with every index, the items put back and their derived keys backfilled,
 * and only then the file removed. A start that finds the file (a rebuild cut short) puts its items back
 * again (puts of whole items: repeating one is harmless) before anything reads the table.
 * Returns whether it rebuilt or restored.
 */
export async function upgradeLocalRunsTable(
  client: DynamoDBClient,
  names: TableNames,
  dataDir: string,
): Promise<'current' | 'rebuilt' | 'restored'> {
  const doc = documentClientFor(client);
  const file = join(dataDir, RUNS_REBUILD_FILE);
  if (existsSync(file)) {
    await recreate(client, names);
    await putBack(doc, names.runs, JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[]);
    await backfillRunIndexKeys(doc, names.runs);
    rmSync(file);
    return 'restored';
  }
  if ((await runsListMode(client, names.runs)) === 'keys') return 'current';
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: names.runs, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  writeFileSync(`${file}.partial`, JSON.stringify(items));
  renameSync(`${file}.partial`, file);
  await recreate(client, names);
  await putBack(doc, names.runs, items);
  await backfillRunIndexKeys(doc, names.runs);
  rmSync(file);
  return 'rebuilt';
}

async function recreate(client: DynamoDBClient, names: TableNames): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: names.runs }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  for (;;) {
    try {
      await client.send(new DescribeTableCommand({ TableName: names.runs }));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) break;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const definition = tableDefinitions(names).find((table) => table.TableName === names.runs);
  if (!definition) throw new Error('no runs table definition');
  await client.send(new CreateTableCommand(definition));
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: names.runs }));
    if (Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function putBack(doc: ReturnType<typeof documentClientFor>, table: string, items: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let pending: Record<string, unknown>[] = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const answer = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
      pending = (answer.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
    }
  }
}
