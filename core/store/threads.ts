import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { RunId } from '../runs/schemas';
import { isConditionFailure } from './condition-failure';
import { controlItemKey } from './tables';

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
export const ThreadName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}#[1-9][0-9]{0,9}$/, 'must be "owner/name#N"');

const StoredThread = z.object({
  runs: z.record(z.string(), z.number().int().nonnegative()).default({}),
  version: z.number().int().nonnegative().default(0),
  lastRunAt: z.string().nullable().default(null),
  noticeAt: z.string().nullable().default(null),
});
export type ThreadState = z.infer<typeof StoredThread>;

/** The thread cannot cover the run's budget (config `budgets.perThreadUsd`). */
export class ThreadBudgetError extends Error {
  constructor(
    readonly thread: string,
    readonly committedMicros: number,
    readonly capMicros: number,
  ) {
    super(`thread ${thread} has committed ${committedMicros} of its ${capMicros} micro-USD (budgets.perThreadUsd)`);
    this.name = 'ThreadBudgetError';
  }
}

export interface ThreadReservation {
  thread: string;
  runId: string;
  budgetMicros: number;
  capMicros: number;
  /** What the thread's runs have committed: spent when settled, else their budget (core/runs/threads.ts). */
  committedOf(runs: Record<string, number>): Promise<number>;
}

export interface ThreadStorePort {
  get(thread: string): Promise<ThreadState | undefined>;
  /** Adds the run to the thread if its budget fits under the cap; throws ThreadBudgetError otherwise. */
  reserve(input: ThreadReservation): Promise<void>;
  /** Takes a run back out of its thread (its submission failed before the run was stored). */
  release(thread: string, runId: string): Promise<void>;
  /** True the first time only: the one polite refusal of a thread. */
  claimNotice(thread: string): Promise<boolean>;
  /** True the first time only for this item: its one comment on the thread (core/github/inbox-on-thread.ts). */
  claimItemPost(thread: string, itemId: string): Promise<boolean>;
  /** Gives a claim back: the comment could not be posted, so a redelivery must post it. */
  releaseItemPost(thread: string, itemId: string): Promise<void>;
}

const MAX_ATTEMPTS = 5;

export function createThreadStore(doc: DynamoDBDocumentClient, tableName: string, now: () => Date = () => new Date()): ThreadStorePort {
  const key = (thread: string) => ({ pk: threadItemKey(ThreadName.parse(thread)) });
  async function get(thread: string): Promise<ThreadState | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key(thread), ConsistentRead: true }));
    return Item ? StoredThread.parse(Item) : undefined;
  }
  return {
    get,
    async reserve(input) {
      const runId = RunId.parse(input.runId);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const state = (await get(input.thread)) ?? StoredThread.parse({});
        if (state.runs[runId] !== undefined) return;
        const committed = await input.committedOf(state.runs);
        if (committed + input.budgetMicros > input.capMicros) throw new ThreadBudgetError(input.thread, committed, input.capMicros);
        try {
          await doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key(input.thread),
              // The runs map is created by the first reservation; later ones add to it.
              UpdateExpression: state.version === 0 ? 'SET #runs = :first, #version = :next, lastRunAt = :now' : 'SET #runs.#run = :budget, #version = :next, lastRunAt = :now',
              ConditionExpression: state.version === 0 ? 'attribute_not_exists(#version) OR #version = :zero' : '#version = :version',
              ExpressionAttributeNames: { '#runs': 'runs', '#version': 'version', ...(state.version === 0 ? {} : { '#run': runId }) },
              ExpressionAttributeValues: {
                ':next': state.version + 1,
                ':now': now().toISOString(),
                ...(state.version === 0 ? { ':first': { [runId]: input.budgetMicros }, ':zero': 0 } : { ':budget': input.budgetMicros, ':version': state.version }),
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
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(thread),
          UpdateExpression: 'REMOVE #runs.#run',
          ConditionExpression: 'attribute_exists(#runs)',
          ExpressionAttributeNames: { '#runs': 'runs', '#run': RunId.parse(runId) },
        }),
      ).catch((err: unknown) => {
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
      await doc.send(new UpdateCommand({ TableName: tableName, Key: key(thread), UpdateExpression: 'DELETE postedItems :item', ExpressionAttributeValues: { ':item': new Set([itemId]) } }));
    },
  };
}
