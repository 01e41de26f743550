import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { IntakeFlagPort } from '../../core/store/ports';
import { controlItemKey } from './tables';

const StoredFlag = z.object({ paused: z.boolean(), reason: z.string().nullable(), at: z.string().nullable() });
const SetInput = z.object({ paused: z.boolean(), reason: z.string().max(1_000).nullable() }).strict();

/** The spend circuit breaker: one control item; absent means intake is open. */
export function createIntakeFlag(doc: DynamoDBDocumentClient, tableName: string, now: () => Date = () => new Date()): IntakeFlagPort {
  const key = { pk: controlItemKey.intakeFlag() };
  return {
    async get() {
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
      if (!Item) return { paused: false, reason: null, at: null };
      return StoredFlag.parse(Item);
    },
    async set(paused: boolean, reason: string | null) {
      const input = SetInput.parse({ paused, reason });
      // Last writer wins on purpose: the flag is a switch, not a counter.
      await doc.send(new PutCommand({ TableName: tableName, Item: { ...key, ...input, at: now().toISOString() } }));
    },
  };
}
