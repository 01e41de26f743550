import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunStatus } from '../../core/runs/lifecycle';
import type { RunRecord } from '../../core/runs/run-record';
import { toRunRecord } from './run-item';

/**
 * Every run in one of `statuses`, read from the table itself with consistent reads, never through an
 * index. For local mode's restart recovery: dynalite writes a run's index entries and then its item as
 * separate steps, so a platform killed between them can leave a run in no status index at all (or in
 * its old one), and a recovery that listed by index would miss it. The runs table of a local home is
 * small; on AWS nothing scans it.
 */
export async function scanRunsInStatuses(
  doc: DynamoDBDocumentClient,
  tableName: string,
  statuses: readonly RunStatus[],
): Promise<RunRecord[]> {
  if (statuses.length === 0) return [];
  const values = Object.fromEntries(statuses.map((status, i) => [`:s${i}`, status]));
  const runs: RunRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: `#status IN (${Object.keys(values).join(', ')})`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    runs.push(...(page.Items ?? []).map((item) => toRunRecord(item)));
    start = page.LastEvaluatedKey;
  } while (start);
  return runs;
}
