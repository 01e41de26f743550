import { BatchGetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { InvalidCursorError } from '../../core/errors';
import { activeStatuses, RunStatus } from '../../core/runs/lifecycle';
import { RunId } from '../../core/runs/schemas';
import { decodeCursor, encodeCursor } from './cursor';
import type { ListingRunRepository, RunListQuery, RunPage, RunRecord } from '../../core/store/ports';
import { createRunRepository } from './run-repository';
import { toRunRecord } from './run-item';
import { listPartitionValue } from '../../core/store/run-index-keys';
import { RUN_KIND, runsIndexes, runsIndexSortKey, runsKeys, runsListIndexes, type RunsListIndexKey } from './tables';

const ListQuery = z
  .object({
    status: RunStatus.optional(),
    repo: z.string().min(1).max(200).optional(),
    requester: z.string().min(1).max(2_048).optional(),
    limit: z.number().int().min(1).max(100),
    cursor: z.string().optional(),
  })
  .strict();

type Filters = Pick<RunListQuery, 'status' | 'repo' | 'requester'>;
type FilterField = keyof Filters;
type IndexName = (typeof runsIndexes)[keyof typeof runsIndexes]['name'];

interface IndexChoice {
  index: IndexName;
  partitionKey: string;
  partitionValue: string;
}

/**
 * The most selective index for the filters: an active status holds at most the queued and running
 * runs; a requester or a repo is next; a terminal status grows with history; `kind` is every run.
 */
function chooseIndex(filters: Filters): IndexChoice {
  const status = filters.status;
  if (status && (activeStatuses as readonly RunStatus[]).includes(status)) {
    return { index: runsIndexes.byStatus.name, partitionKey: runsIndexes.byStatus.partitionKey, partitionValue: status };
  }
  if (filters.requester)
    return { index: runsIndexes.byRequester.name, partitionKey: runsIndexes.byRequester.partitionKey, partitionValue: filters.requester };
  if (filters.repo) return { index: runsIndexes.byRepo.name, partitionKey: runsIndexes.byRepo.partitionKey, partitionValue: filters.repo };
  if (status) return { index: runsIndexes.byStatus.name, partitionKey: runsIndexes.byStatus.partitionKey, partitionValue: status };
  return { index: runsIndexes.byKind.name, partitionKey: runsIndexes.byKind.partitionKey, partitionValue: RUN_KIND };
}

/** What a cursor carries: the query it belongs to and the last key seen (a GSI key: index pk + runId). */
const RunCursor = z
  .object({
    v: z.literal(1),
    f: z.object({ status: RunStatus.optional(), repo: z.string().optional(), requester: z.string().optional() }).strict(),
    after: RunId,
  })
  .strict();
type RunCursor = z.infer<typeof RunCursor>;

function sameFilters(a: Filters, b: Filters): boolean {
  return a.status === b.status && a.repo === b.repo && a.requester === b.requester;
}

/** Bounds DynamoDB pages when a filter discards most of what a page reads. */
export const defaultPageReadLimit = 200;

/**
 * `keys`: the KEYS_ONLY list indexes (one Query of limit+1 keys, one BatchGetItem of at most limit items).
 * `legacy`: the ALL-projection indexes with a filter, for a stack that has not reached the index stage
 * where the list indexes all exist and are backfilled (infra/run-index-stages.ts).
 */
export type ListIndexMode = 'keys' | 'legacy';

/** The environment variable the stack sets to `legacy` on list readers until the list indexes are ready. */
export const RUNS_LIST_INDEXES_ENV = 'RUNS_LIST_INDEXES';

export function listIndexModeFromEnv(env: NodeJS.ProcessEnv = process.env): ListIndexMode {
  return env[RUNS_LIST_INDEXES_ENV] === 'legacy' ? 'legacy' : 'keys';
}

export interface ListRunsOptions {
  /** legacy mode only: items read per DynamoDB page when filters apply. */
  pageReadLimit?: number;
  indexes?: ListIndexMode;
}

export async function listRuns(
  doc: DynamoDBDocumentClient,
  tableName: string,
  input: RunListQuery,
  options: ListRunsOptions = {},
): Promise<RunPage> {
  const query = ListQuery.parse(input);
  if ((options.indexes ?? 'keys') === 'keys') return listRunsByKeys(doc, tableName, query);
  const pageReadLimit = options.pageReadLimit ?? defaultPageReadLimit;
  const { filters, after } = queryStart(query);

  const choice = chooseIndex(filters);
  const remaining = (Object.keys(filters) as FilterField[]).filter(
    (field) => filters[field] !== undefined && field !== choice.partitionKey,
  );
  const filterExpression = remaining.map((field) => `#f_${field} = :f_${field}`).join(' AND ');

  const runs: RunRecord[] = [];
  let startKey: Record<string, unknown> | undefined = after ? { runId: after, [choice.partitionKey]: choice.partitionValue } : undefined;
  for (;;) {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: choice.index,
        KeyConditionExpression: '#pk = :pk',
        ...(filterExpression ? { FilterExpression: filterExpression } : {}),
        ExpressionAttributeNames: { '#pk': choice.partitionKey, ...Object.fromEntries(remaining.map((field) => [`#f_${field}`, field])) },
        ExpressionAttributeValues: {
          ':pk': choice.partitionValue,
          ...Object.fromEntries(remaining.map((field) => [`:f_${field}`, filters[field]])),
        },
        ScanIndexForward: false,
        Limit: remaining.length > 0 ? pageReadLimit : query.limit - runs.length,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i += 1) {
      runs.push(toRunRecord(items[i]));
      if (runs.length === query.limit) {
        const more = i < items.length - 1 || page.LastEvaluatedKey !== undefined;
        return { runs, nextCursor: more ? cursorAfter(filters, runs[runs.length - 1].runId) : null };
      }
    }
    if (!page.LastEvaluatedKey) return { runs, nextCursor: null };
    startKey = page.LastEvaluatedKey;
  }
}

/** The filters of a query and the run a page of it starts after (none without a cursor). */
function queryStart(query: z.infer<typeof ListQuery>): { filters: Filters; after: string | undefined } {
  const filters: Filters = { status: query.status, repo: query.repo, requester: query.requester };
  if (query.cursor === undefined) return { filters, after: undefined };
  const cursor: RunCursor = decodeCursor(query.cursor, RunCursor);
  // A cursor only continues the query that issued it; replaying it under other filters is refused.
  if (!sameFilters(cursor.f, filters)) throw new InvalidCursorError();
  return { filters, after: cursor.after };
}

/** The cursor of the page after the run `after`, in the query of `filters`. */
function cursorAfter(filters: Filters, after: string): string {
  const f = Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined));
  return encodeCursor({ v: 1, f, after } satisfies RunCursor);
}

/** The list index for the filters given, and its partition value. */
export function listIndexFor(filters: Filters): { index: (typeof runsListIndexes)[RunsListIndexKey]; value: string } {
  const fields = (['requester', 'repo', 'status'] as const).filter((field) => filters[field] !== undefined);
  const key = (fields.length === 0 ? 'all' : fields.join('+')) as RunsListIndexKey;
  return {
    index: runsListIndexes[key],
    value: fields.length === 0 ? RUN_KIND : fields.length === 1 ? String(filters[fields[0]]) : listPartitionValue(filters),
  };
}

/** BatchGetItem's ceiling and the times unprocessed keys are asked again before the page fails. */
const batchGetRetries = 8;

async function listRunsByKeys(doc: DynamoDBDocumentClient, tableName: string, query: z.infer<typeof ListQuery>): Promise<RunPage> {
  const { filters, after } = queryStart(query);
  const { index, value } = listIndexFor(filters);
  // limit+1 keys: the one beyond the page only says whether there is a next page.
  const page = await doc.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey },
      ExpressionAttributeValues: { ':pk': value },
      ScanIndexForward: false,
      Limit: query.limit + 1,
      ...(after ? { ExclusiveStartKey: { [runsIndexSortKey]: after, [index.partitionKey]: value } } : {}),
    }),
  );
  const keys = (page.Items ?? []).map((item) => String(item[runsKeys.partitionKey]));
  const pageIds = keys.slice(0, query.limit);
  const items = await batchGetRuns(doc, tableName, pageIds);
  // In index order. The index is eventually consistent: a run it still lists but the table no longer
  // holds, or whose status moved on since, is left out, so a page never shows a run its filters exclude.
  const runs = pageIds.flatMap((runId) => {
    const item = items.get(runId);
    if (!item) return [];
    const run = toRunRecord(item);
    return matchesFilters(run, filters) ? [run] : [];
  });
  const more = keys.length > query.limit;
  return {
    runs,
    nextCursor: more ? cursorAfter(filters, pageIds[pageIds.length - 1]) : null,
  };
}

function matchesFilters(run: RunRecord, filters: Filters): boolean {
  return (
    (filters.status === undefined || run.status === filters.status) &&
    (filters.repo === undefined || run.repo === filters.repo) &&
    (filters.requester === undefined || run.requester === filters.requester)
  );
}

async function batchGetRuns(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runIds: string[],
): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  let pending: Record<string, unknown>[] = runIds.map((runId) => ({ [runsKeys.partitionKey]: runId }));
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt > batchGetRetries)
      throw new Error(`BatchGetItem left ${pending.length} run(s) unprocessed after ${batchGetRetries} retries`);
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 25 * 2 ** attempt)));
    const answer = await doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending } } }));
    for (const item of answer.Responses?.[tableName] ?? []) found.set(String(item[runsKeys.partitionKey]), item);
    pending = (answer.UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
  }
  return found;
}

export interface RunListOptions {
  /** Items read per DynamoDB page when filters apply (tests lower it to cross page boundaries). */
  listPageReadLimit?: number;
  /** Which indexes `list` reads: the KEYS_ONLY list indexes (the default) or, before a stack has them, the legacy ones. */
  listIndexes?: ListIndexMode;
}

/** The run repository with its list: for the functions that list runs (the list route, the run gauges, local mode). */
export function createListingRunRepository(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: RunListOptions = {},
): ListingRunRepository {
  return {
    ...createRunRepository(doc, tableName),
    list: (query) => listRuns(doc, tableName, query, { pageReadLimit: options.listPageReadLimit, indexes: options.listIndexes }),
  };
}
