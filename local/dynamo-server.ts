import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../adapters/dynamodb/client';
import { createTables } from '../adapters/dynamodb/create-tables';
import type { TableNames } from '../adapters/dynamodb/tables';
import { meteredDynalite } from './meter/dynamo-meter';
import type { PlatformMeter } from './meter/platform-meter';
import { upgradeLocalRunsTable } from './runs-table-upgrade';

/** dynalite ships no types; this is the part of its API local mode uses. */
type DynaliteFactory = (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite = require('dynalite') as DynaliteFactory;

/** The table names local mode uses; fixed so a restart finds its data again. */
export const localTableNames: TableNames = {
  runs: 'nightshift-runs',
  events: 'nightshift-events',
  control: 'nightshift-control',
  idempotency: 'nightshift-idempotency',
  inbox: 'nightshift-inbox',
};

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  names: TableNames;
  stop(): Promise<void>;
}

/**
 * An embedded DynamoDB (dynalite on LevelDB) on loopback with the platform's tables. With `dataDir`
 * the data survives a restart; without it everything is in memory. `port` 0 (default): a free one.
 * With `meter`, every request's capacity units are counted (local/meter/dynamo-meter.ts).
 */
export async function startLocalDynamo(
  options: { dataDir?: string; names?: TableNames; port?: number; meter?: PlatformMeter } = {},
): Promise<LocalDynamo> {
  const names = options.names ?? localTableNames;
  const dynaliteOptions = { ...(options.dataDir ? { path: options.dataDir } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  const server = options.meter ? meteredDynalite(dynalite, dynaliteOptions, options.meter) : dynalite(dynaliteOptions);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDynamoClient({ endpoint, region: 'us-east-1' });
  const stop = async (): Promise<void> => {
    client.destroy();
    // dynalite closes LevelDB after the HTTP server; a second start on the same directory needs the lock released.
    const closed = new Promise<void>((resolve, reject) => server.close((err?: Error) => (err ? reject(err) : resolve())));
    server.closeAllConnections();
    await closed;
  };
  try {
    await createTables(client, names);
    // A data directory from before the run list indexes gets its runs table made anew with them.
    if (options.dataDir) await upgradeLocalRunsTable(client, names, options.dataDir);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { endpoint, client, names, stop };
}
