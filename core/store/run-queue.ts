import { DeleteCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { RunId, RunPriority } from '../runs/schemas';
import { controlItemKey, queueIndex } from './tables';
import { isConditionFailure } from './condition-failure';

/**
 * The run queue: one control item per QUEUED run (`queue#<runId>`), in the sparse byQueue index in
 * admission order. The order key is `<priority rank>#<runId>`: high before normal before low, and
 * within a priority by submission (run ids are ULIDs), so a run that goes back to waiting, however
 * often, keeps its place. The item holds the task token its Admit state waits on; the index never
 * projects it. A run's position is a COUNT of the index entries ahead of it: no run item is read.
 */

/** The one partition value of the byQueue index. */
const QUEUE = 'runs';
const rank: Record<RunPriority, number> = { high: 1, normal: 2, low: 3 };

export function queueOrderOf(runId: string, priority: RunPriority): string {
  return `${rank[priority]}#${RunId.parse(runId)}`;
}

/** An entry as the byQueue index shows it (no token). */
export const QueueEntry = z.object({
  runId: RunId,
  repo: z.string().min(1),
  requester: z.string().min(1),
  queueOrder: z.string(),
  /** Waiting for something else than a slot (its thread, its requester's review backlog): a freed slot does not wake it. */
  held: z.boolean(),
  /** When a waker took its token (it is re-checking its admission); null while it waits. */
  wokenAt: z.string().nullable(),
  /** When it last started to wait (its Admit state stored a token). */
  since: z.string(),
});
export type QueueEntry = z.infer<typeof QueueEntry>;

export interface QueueWaitInput {
  runId: string;
  repo: string;
  requester: string;
  priority: RunPriority;
  /** The task token of the run's Admit state; absent when admission is called outside the state machine. */
  token?: string;
  held: boolean;
  at: string;
}

export interface RunQueuePort {
  /**
   * Puts the run in the queue, or refreshes its entry: same place, the new token, no longer woken.
   * Returns when a waker last took its token (null if none did): the run was woken and is waiting again;
   * and whether the entry is new (`placed`), so the runs behind it moved back a place.
   */
  wait(input: QueueWaitInput): Promise<{ wokenAt: string | null; placed: boolean }>;
  /** Takes the run out of the queue (admitted or ended); idempotent. True when it had an entry (the runs behind it moved up). */
  remove(runId: string): Promise<boolean>;
  /** 1 + the entries ahead of the run (a COUNT over the index keys ahead), or null when it has no entry. */
  position(runId: string, priority: RunPriority): Promise<number>;
  /** Up to `limit` entries in admission order, from the head. */
  head(limit: number): Promise<QueueEntry[]>;
  /** Up to `limit` entries in admission order, from the head through the run's own place (its entry last, when it has one and it is within `limit`). */
  through(runId: string, priority: RunPriority, limit: number): Promise<QueueEntry[]>;
  /** Takes a waiting entry's token (a conditional write, so two wakers never both get it); undefined if it has none. */
  claim(runId: string, at: string): Promise<string | undefined>;
  /** Gives a claimed token back after a wake-up that could not be delivered, unless the run stored a newer one. */
  restore(runId: string, token: string): Promise<void>;
}

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
      const { Attributes } = await doc.send(new DeleteCommand({ TableName: tableName, Key: { pk: controlItemKey.queueEntry(RunId.parse(runId)) }, ReturnValues: 'ALL_OLD' }));
      return Attributes !== undefined;
    },
    async position(runId, priority) {
      let ahead = 0;
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(new QueryCommand({ ...queueQuery(tableName, { before: queueOrderOf(runId, priority) }), Select: 'COUNT', ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
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
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: controlItemKey.queueEntry(RunId.parse(runId)) },
            ConditionExpression: 'attribute_exists(#token)',
            UpdateExpression: 'SET wokenAt = :at REMOVE #token',
            ExpressionAttributeNames: { '#token': 'token' },
            ExpressionAttributeValues: { ':at': at },
            ReturnValues: 'UPDATED_OLD',
          }),
        );
        return TokenItem.parse(Attributes).token;
      } catch (err) {
        if (isConditionFailure(err)) return undefined;
        throw err;
      }
    },
    async restore(runId, token) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: controlItemKey.queueEntry(RunId.parse(runId)) },
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#token)',
            UpdateExpression: 'SET #token = :token, wokenAt = :null',
            ExpressionAttributeNames: { '#token': 'token' },
            ExpressionAttributeValues: { ':token': token, ':null': null },
          }),
        );
      } catch (err) {
        // Gone (admitted, ended) or waiting again with a newer token: nothing to give back.
        if (!isConditionFailure(err)) throw err;
      }
    },
  };
}

/** The byQueue index from its head: every entry, those ahead of an order key (`before`), or those up to one (`through`). */
function queueQuery(tableName: string, range: { before?: string; through?: string } = {}) {
  const bound = range.before !== undefined ? { op: '<', key: range.before } : range.through !== undefined ? { op: '<=', key: range.through } : undefined;
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
    const page = await doc.send(new QueryCommand({ ...queueQuery(tableName, through === undefined ? {} : { through }), Limit: limit - entries.length, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    for (const item of page.Items ?? []) entries.push(QueueEntry.parse(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey && entries.length < limit);
  return entries;
}
