import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RunNotFoundError, RunNotLaunchableError } from '../../core/errors';

export { RunNotLaunchableError };
import { hashRunKey, newRunKey, runKeyMatches } from '../../core/runs/run-key';
import { RunId } from '../../core/runs/schemas';
import type { RunKeysPort } from '../../core/store/ports';
import { isConditionFailure } from './condition-failure';

/** Statuses a run key is issued in: admitted and about to start (or a relaunch of a started run). */
const launchableStatuses = ['STARTING', 'RUNNING'] as const;

/** The run item's attribute holding the SHA-256 of the current run key (never part of a RunRecord). */
export const RUN_KEY_HASH_ATTRIBUTE = 'runKeyHash';

/**
 * Run keys on the runs table (core/runs/run-key.ts). `issue` replaces any previous key, so a relaunch
 * leaves the earlier task with nothing; `verify` reads the hash consistently, so a replaced key stops
 * working at once.
 */
export function createRunKeys(doc: DynamoDBDocumentClient, tableName: string): RunKeysPort {
  return {
    async issue(runId) {
      RunId.parse(runId);
      const key = newRunKey();
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { runId },
            ConditionExpression: `attribute_exists(runId) AND #status IN (${launchableStatuses.map((_, i) => `:s${i}`).join(', ')})`,
            UpdateExpression: 'SET #hash = :hash',
            ExpressionAttributeNames: { '#status': 'status', '#hash': RUN_KEY_HASH_ATTRIBUTE },
            ExpressionAttributeValues: { ':hash': hashRunKey(key), ...Object.fromEntries(launchableStatuses.map((s, i) => [`:s${i}`, s])) },
          }),
        );
      } catch (error) {
        if (isConditionFailure(error)) throw new RunNotLaunchableError(runId);
        throw error;
      }
      return key;
    },
    async verify(runId, presented) {
      const id = RunId.parse(runId);
      const { Item } = await doc.send(
        new GetCommand({
          TableName: tableName,
          Key: { runId: id },
          ConsistentRead: true,
          ProjectionExpression: '#hash',
          ExpressionAttributeNames: { '#hash': RUN_KEY_HASH_ATTRIBUTE },
        }),
      );
      if (!Item) throw new RunNotFoundError(id);
      const stored = Item[RUN_KEY_HASH_ATTRIBUTE];
      return runKeyMatches(presented, typeof stored === 'string' ? stored : undefined);
    },
  };
}
