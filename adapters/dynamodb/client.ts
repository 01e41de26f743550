import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { optionalEnv, requiredEnv } from '../../core/env';
import type { TableNames } from './tables';

export interface DocumentClientOptions {
  /** A DynamoDB-compatible endpoint (dynalite in local mode and tests); the SDK default otherwise. */
  endpoint?: string;
  region?: string;
}

function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/** The low-level client; exported for table creation (createTables) and local mode. */
export function createDynamoClient(options: DocumentClientOptions = {}): DynamoDBClient {
  const endpoint = options.endpoint;
  const region = options.region ?? optionalEnv('AWS_REGION') ?? (endpoint ? 'us-east-1' : undefined);
  return new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    // An offline endpoint on loopback needs no AWS account; signing still needs some credentials.
    ...(endpoint && isLoopback(endpoint) ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

export function documentClientFor(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}

export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDBDocumentClient {
  return documentClientFor(createDynamoClient(options));
}

export function tableNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TableNames {
  return {
    runs: requiredEnv('RUNS_TABLE', env),
    events: requiredEnv('EVENTS_TABLE', env),
    control: requiredEnv('CONTROL_TABLE', env),
    idempotency: requiredEnv('IDEMPOTENCY_TABLE', env),
    inbox: requiredEnv('INBOX_TABLE', env),
  };
}
