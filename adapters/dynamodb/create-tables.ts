import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  type CreateTableCommandInput,
  type GlobalSecondaryIndex,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  controlKeys,
  eventsKeys,
  queueIndex,
  idempotencyKeys,
  inboxIndexes,
  inboxIndexSortKey,
  inboxKeys,
  runsIndexes,
  runsIndexSortKey,
  runsKeys,
  runsListIndexes,
  type TableNames,
} from './tables';
import type { ListIndexMode } from './run-list';

/** The table definitions, mirroring the CDK tables (infra) key for key. */
type TableDefinition = CreateTableCommandInput & { TableName: string };

function indexedTable(
  tableName: string,
  partitionKey: string,
  indexes: readonly { name: string; partitionKey: string }[],
  sortKey: string,
): TableDefinition {
  const indexAttributes = [...new Set(indexes.map((index) => index.partitionKey))];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      ...indexAttributes.filter((name) => name !== partitionKey).map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
    ],
    GlobalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}

export function tableDefinitions(names: TableNames): TableDefinition[] {
  const indexes = Object.values(runsIndexes);
  const listIndexes = Object.values(runsListIndexes);
  const indexAttributes = [...new Set([...indexes, ...listIndexes].map((index) => index.partitionKey))];
  return [
    indexedTable(names.inbox, inboxKeys.partitionKey, Object.values(inboxIndexes), inboxIndexSortKey),
    {
      TableName: names.runs,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: runsKeys.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: runsKeys.partitionKey, AttributeType: 'S' },
        ...indexAttributes.map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
      ],
      GlobalSecondaryIndexes: indexes
        .map(
          (index): GlobalSecondaryIndex => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
              { AttributeName: runsIndexSortKey, KeyType: 'RANGE' as const },
            ],
            Projection: { ProjectionType: 'ALL' as const },
          }),
        )
        .concat(
          listIndexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
              { AttributeName: runsIndexSortKey, KeyType: 'RANGE' as const },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' as const },
          })),
        ),
    },
    {
      TableName: names.events,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: eventsKeys.partitionKey, KeyType: 'HASH' },
        { AttributeName: eventsKeys.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: eventsKeys.partitionKey, AttributeType: 'S' },
        { AttributeName: eventsKeys.sortKey, AttributeType: 'S' },
      ],
    },
    {
      TableName: names.control,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: controlKeys.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: controlKeys.partitionKey, AttributeType: 'S' },
        { AttributeName: queueIndex.partitionKey, AttributeType: 'S' },
        { AttributeName: queueIndex.sortKey, AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: queueIndex.name,
          KeySchema: [
            { AttributeName: queueIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: queueIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...queueIndex.projected] },
        },
      ],
    },
    {
      TableName: names.idempotency,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: idempotencyKeys.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: idempotencyKeys.partitionKey, AttributeType: 'S' }],
    },
  ];
}

const activeDeadlineMs = 30_000;

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + activeDeadlineMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE within ${activeDeadlineMs} ms`);
    // The table is still CREATING: poll again shortly (dynalite takes createTableMs, DynamoDB seconds).
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Creates the tables if they do not exist yet (local mode restarts on an existing data directory)
 * and waits until they are ACTIVE.
 */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  const definitions = tableDefinitions(names);
  for (const definition of definitions) {
    try {
      await client.send(new CreateTableCommand(definition));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  for (const definition of definitions) await waitUntilActive(client, definition.TableName);
}

/**
 * Which indexes the run list can read on this runs table: `keys` when every list index exists, else
 * `legacy`. Local mode's data directory may come from a version without them; dynalite cannot add an
 * index to an existing table (its UpdateTable only changes throughput), so local mode makes such a
 * runs table anew (local/runs-table-upgrade.ts).
 */
export async function runsListMode(client: DynamoDBClient, runsTable: string): Promise<ListIndexMode> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: runsTable }));
  const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return Object.values(runsListIndexes).every((index) => present.has(index.name)) ? 'keys' : 'legacy';
}
