import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RunId } from '../../core/runs/schemas';
import { isConditionFailure } from './condition-failure';
import { controlItemKey } from './tables';
import { ThreadBudgetError } from '../../core/errors';
import { ThreadName, ThreadState, type ThreadReservation, type ThreadStorePort } from '../../core/store/thread-store-port';

export { ThreadBudgetError };
export { ThreadName, type ThreadReservation, type ThreadState, type ThreadStorePort };

/**
 * GitHub threads (docs/github-app.md, Threads): the runs started from one issue or pull request. One control item per
 * thread, `thread#<owner/name>#<N>` (lower case):
 *   runs       runId -> budget micros reserved at submit (the thread's run ids, in ULID = creation order)
 *   version    bumped by every reservation: two submissions on one thread cannot both pass the
 *              perThreadUsd check on the same reading (optimistic concurrency, a conditional update)
 *   lastRunAt  when the newest run was submitted (review comments "since the last run")
 *   noticeAt   when the one polite refusal was posted for this thread
 *   postedItems the inbox items posted on the thread (a string set): SNS delivers an item's
 *              notification at least once, and this conditional write makes it one comment
 */
export const threadItemKey = controlItemKey.thread;

const MAX_ATTEMPTS = 5;

export function createThreadStore(doc: DynamoDBDocumentClient, tableName: string, now: () => Date = () => new Date()): ThreadStorePort {
  const key = (thread: string) => ({ pk: threadItemKey(ThreadName.parse(thread)) });
  async function get(thread: string): Promise<ThreadState | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key(thread), ConsistentRead: true }));
    return Item ? ThreadState.parse(Item) : undefined;
  }
  return {
    get,
    async reserve(input) {
      const runId = RunId.parse(input.runId);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const state = (await get(input.thread)) ?? ThreadState.parse({});
        if (state.runs[runId] !== undefined) return;
        const committed = await input.committedOf(state.runs);
        if (committed + input.budgetMicros > input.capMicros) throw new ThreadBudgetError(input.thread, committed, input.capMicros);
        try {
          await doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key(input.thread),
              // The runs map is created by the first reservation; later ones add to it.
              UpdateExpression:
                state.version === 0
                  ? 'SET #runs = :first, #version = :next, lastRunAt = :now'
                  : 'SET #runs.#run = :budget, #version = :next, lastRunAt = :now',
              ConditionExpression: state.version === 0 ? 'attribute_not_exists(#version) OR #version = :zero' : '#version = :version',
              ExpressionAttributeNames: { '#runs': 'runs', '#version': 'version', ...(state.version === 0 ? {} : { '#run': runId }) },
              ExpressionAttributeValues: {
                ':next': state.version + 1,
                ':now': now().toISOString(),
                ...(state.version === 0
                  ? { ':first': { [runId]: input.budgetMicros }, ':zero': 0 }
                  : { ':budget': input.budgetMicros, ':version': state.version }),
              },
            }),
          );
          return;
        } catch (err) {
          if (!isConditionFailure(err)) throw err;
        }
      }
      throw new Error(`thread ${input.thread}: too many concurrent submissions, try again`);
    },
    async release(thread, runId) {
      await doc
        .send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(thread),
            UpdateExpression: 'REMOVE #runs.#run',
            ConditionExpression: 'attribute_exists(#runs)',
            ExpressionAttributeNames: { '#runs': 'runs', '#run': RunId.parse(runId) },
          }),
        )
        .catch((err: unknown) => {
          if (!isConditionFailure(err)) throw err;
        });
    },
    async claimNotice(thread) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(thread),
            UpdateExpression: 'SET noticeAt = :now',
            ConditionExpression: 'attribute_not_exists(noticeAt)',
            ExpressionAttributeValues: { ':now': now().toISOString() },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        throw err;
      }
    },
    async claimItemPost(thread, itemId) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(thread),
            UpdateExpression: 'ADD postedItems :item',
            ConditionExpression: 'NOT contains(postedItems, :id)',
            ExpressionAttributeValues: { ':item': new Set([itemId]), ':id': itemId },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailure(err)) return false;
        throw err;
      }
    },
    async releaseItemPost(thread, itemId) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(thread),
          UpdateExpression: 'DELETE postedItems :item',
          ExpressionAttributeValues: { ':item': new Set([itemId]) },
        }),
      );
    },
  };
}
