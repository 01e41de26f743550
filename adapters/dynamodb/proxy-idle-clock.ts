import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { ProxyIdleClockPort } from '../../core/egress/proxy-demand';
import { controlItemKey } from './tables';

const StoredClock = z.object({ since: z.iso.datetime() });

/** Since when the on-demand egress proxy has had no run: one control item, absent while runs need it. */
export function createProxyIdleClock(doc: DynamoDBDocumentClient, tableName: string): ProxyIdleClockPort {
  const key = { pk: controlItemKey.proxyIdle() };
  return {
    async idleSince() {
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
      return Item ? StoredClock.parse(Item).since : undefined;
    },
    async markIdle(at: string) {
      const since = z.iso.datetime().parse(at);
      try {
        await doc.send(new PutCommand({ TableName: tableName, Item: { ...key, since }, ConditionExpression: 'attribute_not_exists(pk)' }));
      } catch (error) {
        // Another tick recorded it first: the earlier sighting stands.
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
    },
    async clear() {
      await doc.send(new DeleteCommand({ TableName: tableName, Key: key }));
    },
  };
}
