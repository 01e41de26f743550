import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RunStatus } from '../../core/runs/lifecycle';
import { isConditionFailure } from './condition-failure';
import { runIndexKeys, runIndexKeyNames } from '../../core/store/run-index-keys';
import { runsKeys } from './tables';

/**
 * Writes the list indexes' derived keys (core/store/run-index-keys.ts) on run items that lack them or
 * hold stale ones: items written before the list indexes existed, or by a Lambda of the previous
 * version during the deploy that brought them. Idempotent (an item whose keys are right is not
 * written) and resumable (each page returns the scan position to start again from). Each write is
 * conditional on the status it was computed from, so a transition racing the backfill, which writes
 * the right keys itself, is never overwritten with stale ones; such an item is counted as `raced`.
 */
export interface BackfillPage {
  scanned: number;
  updated: number;
  raced: number;
  /** Where the next page starts; undefined once the table is done. */
  next?: Record<string, unknown>;
}

export async function backfillRunIndexKeysPage(
  doc: DynamoDBDocumentClient,
  tableName: string,
  start?: Record<string, unknown>,
  pageSize = 200,
): Promise<BackfillPage> {
  const page = await doc.send(
    new ScanCommand({
      TableName: tableName,
      ProjectionExpression: ['#id', '#status', '#repo', '#requester', ...runIndexKeyNames.map((name) => `#${name}`)].join(', '),
      ExpressionAttributeNames: {
        '#id': runsKeys.partitionKey,
        '#status': 'status',
        '#repo': 'repo',
        '#requester': 'requester',
        ...Object.fromEntries(runIndexKeyNames.map((name) => [`#${name}`, name])),
      },
      Limit: pageSize,
      ...(start ? { ExclusiveStartKey: start } : {}),
    }),
  );
  const result: BackfillPage = { scanned: 0, updated: 0, raced: 0, ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}) };
  for (const item of page.Items ?? []) {
    result.scanned += 1;
    const status = RunStatus.safeParse(item.status);
    if (!status.success || typeof item.repo !== 'string' || typeof item.requester !== 'string') continue;
    const keys = runIndexKeys({ status: status.data, repo: item.repo, requester: item.requester });
    if (runIndexKeyNames.every((name) => item[name] === keys[name])) continue;
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { [runsKeys.partitionKey]: item[runsKeys.partitionKey] },
          ConditionExpression: 'attribute_exists(#id) AND #status = :status',
          UpdateExpression: `SET ${runIndexKeyNames.map((name) => `#${name} = :${name}`).join(', ')}`,
          ExpressionAttributeNames: {
            '#id': runsKeys.partitionKey,
            '#status': 'status',
            ...Object.fromEntries(runIndexKeyNames.map((name) => [`#${name}`, name])),
          },
          ExpressionAttributeValues: {
            ':status': status.data,
            ...Object.fromEntries(runIndexKeyNames.map((name) => [`:${name}`, keys[name]])),
          },
        }),
      );
      result.updated += 1;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      result.raced += 1;
    }
  }
  return result;
}

/** The whole table, page after page, from `start` (a position a previous, interrupted pass reported). */
export async function backfillRunIndexKeys(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: { start?: Record<string, unknown>; pageSize?: number; onPage?: (page: BackfillPage) => void } = {},
): Promise<{ scanned: number; updated: number; raced: number }> {
  const total = { scanned: 0, updated: 0, raced: 0 };
  let start = options.start;
  do {
    const page = await backfillRunIndexKeysPage(doc, tableName, start, options.pageSize);
    total.scanned += page.scanned;
    total.updated += page.updated;
    total.raced += page.raced;
    options.onPage?.(page);
    start = page.next;
  } while (start);
  return total;
}
