import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { optionalEnv } from '../../core/env';
import { createDocumentClient } from '../../adapters/dynamodb/client';

let doc: DynamoDBDocumentClient | undefined;

/** One DynamoDB document client per Lambda instance (the standard endpoint variable points it at dynalite offline). */
export function opsDynamoDocument(): DynamoDBDocumentClient {
  doc ??= createDocumentClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB') });
  return doc;
}
