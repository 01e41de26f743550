import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient, documentClientFor } from '../../adapters/dynamodb/client';
import { createTables } from '../../adapters/dynamodb/create-tables';
import { createStore, type Store } from '../../adapters/dynamodb';
import type { TableNames } from '../../adapters/dynamodb/tables';

/** dynalite ships no types; this is the part of its API the tests use. */
type DynaliteFactory = (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite = require('dynalite') as DynaliteFactory;

export interface DynaliteHarness {
  endpoint: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  names: TableNames;
  store: Store;
  stop(): Promise<void>;
}

export const testTableNames: TableNames = {
  runs: 'runs',
  events: 'events',
  control: 'control',
  idempotency: 'idempotency',
  inbox: 'inbox',
};

/**
 * An in-process dynalite on 127.0.0.1 (a free port) with the tables created: real DynamoDB semantics
 * (conditions, GSIs, paging) for tests. In memory unless `path` names a data directory.
 */
export async function startDynalite(options: { path?: string; names?: TableNames } = {}): Promise<DynaliteHarness> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDynamoClient({ endpoint, region: 'us-east-1' });
  const doc = documentClientFor(client);
  const names = options.names ?? testTableNames;
  try {
    await createTables(client, names);
  } catch (error) {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  return {
    endpoint,
    client,
    doc,
    names,
    store: createStore(doc, names),
    async stop() {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((error?: Error) => (error ? reject(error) : resolve())));
    },
  };
}

/**
 * dynalite for a whole test file: started before its first test, stopped after its last. The answer
 * stands for it (it forwards to the running harness), so a file writes `const db = withDynalite()` once.
 */
export function withDynalite(): DynaliteHarness {
  let current: DynaliteHarness | undefined;
  beforeAll(async () => {
    current = await startDynalite();
  });
  afterAll(async () => {
    await current?.stop();
    current = undefined;
  });
  const harness = (): DynaliteHarness => {
    if (!current) throw new Error('dynalite runs only between the first and the last test of the file');
    return current;
  };
  return new Proxy({} as DynaliteHarness, { get: (_target, property) => Reflect.get(harness(), property, harness()) });
}
