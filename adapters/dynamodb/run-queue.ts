import { DeleteCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { RunId, RunPriority } from '../../core/runs/schemas';
import { controlItemKey, queueIndex } from './tables';
import { isConditionFailure } from './condition-failure';
import { QueueEntry, queueOrderOf, type QueueWaitInput, type RunQueuePort } from '../../core/store/run-queue-port';

export { QueueEntry, queueOrderOf, type QueueWaitInput, type RunQueuePort };

/**
 * The run queue: one control item per QUEUED run (`queue#<runId>`), in the sparse byQueue index in
 * admission order. The order key is `<priority rank>#<runId>`: high before normal before low, and
 * within a priority by submission (run ids are ULIDs), so a run that goes back to waiting, however
 * often, keeps its place. The item holds the task token its Admit state waits on; the index never
 * projects it. A run's position is a COUNT of the index entries ahead of it: no run item is read.
 */

/** The one partition value of the byQueue index. */
const QUEUE = 'runs';

const TokenItem = z.object({ token: z.string().min(1) });
const OldWoken = z.object({ wokenAt: z.string().nullable().optional() });

export function createRunQueue(doc: DynamoDBDocumentClient, tableName: string): RunQueuePort {
  return {
    async wait(input) {
      const { Attributes } = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: controlItemKey.queueEntry(RunId.parse(input.runId)) },
          UpdateExpression: `SET #queue = :queue, queueOrder = :order, runId = :runId, repo = :repo, requester = :requester, held = :held, wokenAt = :null, since = :at${input.token ? ', #token = :token' : ''}${input.token ? '' : ' REMOVE #token'}`,
          ExpressionAttributeNames: { '#queue': queueIndex.partitionKey, '#token': 'token' },
          ExpressionAttributeValues: {
            ':queue': QUEUE,
            ':order': queueOrderOf(input.runId, RunPriority.parse(input.priority)),
            ':runId': input.runId,
            ':repo': input.repo,
            ':requester': input.requester,
            ':held': input.held,
            ':null': null,
            ':at': input.at,
            ...(input.token ? { ':token': input.token } : {}),
          },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      // UPDATED_OLD names the attributes that were there before: none for a new entry.
      return { wokenAt: OldWoken.parse(Attributes ?? {}).wokenAt ?? null, placed: Attributes?.queueOrder === undefined };
    },
    async remove(runId) {
      const { Attributes } = await doc.send(
        new DeleteCommand({ TableName: tableName, Key: { pk: controlItemKey.queueEntry(RunId.parse(runId)) }, ReturnValues: 'ALL_OLD' }),
      );
      return Attributes !== undefined;
    },
    async position(runId, priority) {
      let ahead = 0;
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            ...queueQuery(tableName, { before: queueOrderOf(runId, priority) }),
            Select: 'COUNT',
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        ahead += page.Count ?? 0;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return ahead + 1;
    },
    async head(limit) {
      return entriesFrom(doc, tableName, limit);
    },
    async through(runId, priority, limit) {
      return entriesFrom(doc, tableName, limit, queueOrderOf(runId, priority));
    },
    async claim(runId, at) {
      const old = await updateTokenOf(doc, tableName, runId, {
        condition: 'attribute_exists(#token)',
        update: 'SET wokenAt = :at REMOVE #token',
        values: { ':at': at },
      });
      return old && TokenItem.parse(old).token;
    },
    async restore(runId, token) {
      // Gone (admitted, ended) or waiting again with a newer token: nothing to give back.
      await updateTokenOf(doc, tableName, runId, {
        condition: 'attribute_exists(pk) AND attribute_not_exists(#token)',
        update: 'SET #token = :token, wokenAt = :null',
        values: { ':token': token, ':null': null },
      });
    },
  };
}

/**
 * An update of a run's queue entry and its task token (`#token`) under `condition`: the attributes it
 * changed, as they were; undefined when the condition refused it.
 */
async function updateTokenOf(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  change: { condition: string; update: string; values: Record<string, unknown> },
): Promise<Record<string, unknown> | undefined> {
  try {
    const { Attributes } = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: controlItemKey.queueEntry(RunId.parse(runId)) },
        ConditionExpression: change.condition,
        UpdateExpression: change.update,
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: change.values,
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    return Attributes ?? {};
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/** The byQueue index from its head: every entry, those ahead of an order key (`before`), or those up to one (`through`). */
function queueQuery(tableName: string, range: { before?: string; through?: string } = {}) {
  const bound =
    range.before !== undefined
      ? { op: '<', key: range.before }
      : range.through !== undefined
        ? { op: '<=', key: range.through }
        : undefined;
  return {
    TableName: tableName,
    IndexName: queueIndex.name,
    KeyConditionExpression: bound ? `#queue = :queue AND queueOrder ${bound.op} :bound` : '#queue = :queue',
    ExpressionAttributeNames: { '#queue': queueIndex.partitionKey },
    ExpressionAttributeValues: { ':queue': QUEUE, ...(bound ? { ':bound': bound.key } : {}) },
  };
}

/** Up to `limit` entries from the head of the queue, in order; with `through`, only those whose order key is at most it. */
async function entriesFrom(doc: DynamoDBDocumentClient, tableName: string, limit: number, through?: string): Promise<QueueEntry[]> {
  const entries: QueueEntry[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        ...queueQuery(tableName, through === undefined ? {} : { through }),
        Limit: limit - entries.length,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) entries.push(QueueEntry.parse(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey && entries.length < limit);
  return entries;
}
