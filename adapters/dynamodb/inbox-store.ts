import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { InboxItemId, InboxResolution, newestFirst, statesOf, SYSTEM_RESOLVER, type InboxListQuery } from '../../core/inbox/inbox-item';
import { decodeCursor, encodeCursor } from './cursor';
import { inboxIndexes } from './tables';
import { isConditionFailure } from './condition-failure';
import { InboxItemNotOpenError } from '../../core/errors';
import { StoredInboxItem, toInboxView, type InboxStore } from '../../core/store/inbox-store-port';

export { InboxItemNotOpenError, StoredInboxItem, toInboxView, type InboxStore };

/** A list cursor: the item id the next page starts below (ids sort by creation). */
const ListCursor = z.object({ v: z.literal(1), before: InboxItemId }).strict();

export function createInboxStore(doc: DynamoDBDocumentClient, tableName: string): InboxStore {
  async function get(itemId: string): Promise<StoredInboxItem | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { itemId }, ConsistentRead: true }));
    return Item ? StoredInboxItem.parse(Item) : undefined;
  }

  /** The items a query of the table finds, page after page, until it has at least `limit` (all without one). */
  async function queryItems(
    input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<StoredInboxItem[]> {
    const items: StoredInboxItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({ TableName: tableName, ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
      );
      for (const raw of page.Items ?? []) items.push(StoredInboxItem.parse(raw));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return items;
  }

  /**
   * Up to `limit` items of one index partition, newest first, below `before`, that pass the filters:
   * reads pages until it has them or the partition ends (a filter is applied after DynamoDB reads).
   */
  async function newestOf(
    index: { name: string; partitionKey: string },
    value: string,
    query: InboxListQuery,
    before: string | undefined,
    limit: number,
  ): Promise<StoredInboxItem[]> {
    const names: Record<string, string> = { '#pk': index.partitionKey };
    const values: Record<string, unknown> = { ':pk': value };
    const filters: string[] = [];
    if (before) {
      names['#id'] = 'itemId';
      values[':before'] = before;
    }
    const filter = (attribute: string, wanted: string | undefined) => {
      if (wanted === undefined || attribute === index.partitionKey) return;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = wanted;
      filters.push(`#${attribute} = :${attribute}`);
    };
    filter('type', query.type);
    filter('repo', query.repo);
    filter('requester', query.requester);
    if (index.partitionKey !== 'state' && query.state !== 'all') filter('state', query.state);
    const items = await queryItems(
      {
        IndexName: index.name,
        KeyConditionExpression: before ? '#pk = :pk AND #id < :before' : '#pk = :pk',
        ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: 100,
      },
      limit,
    );
    return items.slice(0, limit);
  }

  const store: InboxStore = {
    get,
    async list(query) {
      const before = query.cursor ? decodeCursor(query.cursor, ListCursor).before : undefined;
      // One more than a page says whether another page follows.
      const want = query.limit + 1;
      const lists =
        query.requester !== undefined
          ? [await newestOf(inboxIndexes.byRequester, query.requester, query, before, want)]
          : await Promise.all(statesOf(query.state).map((state) => newestOf(inboxIndexes.byState, state, query, before, want)));
      const { items, more } = newestFirst(lists, query.limit);
      const last = items.at(-1);
      return { items, nextCursor: more && last ? encodeCursor({ v: 1, before: last.itemId }) : null };
    },
    async create(item) {
      const parsed = StoredInboxItem.parse(item);
      try {
        await doc.send(new PutCommand({ TableName: tableName, Item: parsed, ConditionExpression: 'attribute_not_exists(itemId)' }));
        return parsed;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const existing = await get(parsed.itemId);
      if (!existing || existing.runId !== parsed.runId || existing.type !== parsed.type)
        throw new Error(`inbox item ${parsed.itemId} exists for another run or type`);
      if (existing.state !== 'open' || existing.taskToken === parsed.taskToken) return existing;
      // A retried Pause task waits on a new token: the item must complete that one.
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { itemId: parsed.itemId },
            ConditionExpression: '#state = :open AND runId = :run',
            UpdateExpression: 'SET taskToken = :token',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':open': 'open', ':run': parsed.runId, ':token': parsed.taskToken },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return StoredInboxItem.parse(Attributes);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return (await get(parsed.itemId)) ?? existing;
      }
    },
    async listByRun(runId) {
      return queryItems({
        IndexName: inboxIndexes.byRun.name,
        KeyConditionExpression: '#run = :run',
        ExpressionAttributeNames: { '#run': inboxIndexes.byRun.partitionKey },
        ExpressionAttributeValues: { ':run': runId },
      });
    },
    async resolve(itemId, resolution, by, at) {
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { itemId },
            ConditionExpression: '#state = :open',
            UpdateExpression: 'SET #state = :resolved, resolution = :resolution, resolvedBy = :by, resolvedAt = :at',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':open': 'open',
              ':resolved': 'resolved',
              ':resolution': InboxResolution.parse(resolution),
              ':by': by,
              ':at': at,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return StoredInboxItem.parse(Attributes);
      } catch (error) {
        if (isConditionFailure(error)) throw new InboxItemNotOpenError(itemId);
        throw error;
      }
    },
    async closeWaiting(runId, action, at) {
      let closed = 0;
      for (const item of await store.listByRun(runId)) {
        if (item.state !== 'open' || item.taskToken === null) continue;
        try {
          await store.resolve(item.itemId, { action, answer: null }, SYSTEM_RESOLVER, at);
          closed++;
        } catch (err) {
          if (!(err instanceof InboxItemNotOpenError)) throw err;
        }
      }
      return closed;
    },
  };
  return store;
}
