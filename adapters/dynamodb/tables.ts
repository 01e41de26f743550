import { ledgerDay } from '../../core/runs/run-record';

/**
 * The DynamoDB data model, shared by the CDK tables (infra/constructs/state.ts), the store modules,
 * local mode (dynalite) and the tests. Every write is a single-item conditional write: dynalite has
 * no TransactWriteItems and no TTL, so nothing here relies on them.
 *
 * runs      pk runId (ULID, so it sorts by creation time). One item per run: the run record plus its
 *           ledger fields (budgetMicros, spentMicros, calls map of in-flight reservations, settled).
 *           List indexes (runsListIndexes), KEYS_ONLY, sort key runId, queried newest first: one per
 *           combination of the list filters (none, status, repo, requester and each pair and the three),
 *           partition keys `kind`, `status`, `repo`, `requester` and the derived `repoStatus`,
 *           `requesterStatus`, `requesterRepo`, `requesterRepoStatus` (core/store/run-index-keys.ts).
 *           The legacy GSIs (runsIndexes: byKind, byRequester, byRepo, byStatus, projection ALL) stay
 *           until a deployed stack has moved through the index stages (infra/run-index-stages.ts).
 * events    pk runId, sk seq (a ULID, monotonic per writer): the run's timeline.
 * control   pk pk. Counters that runs share:
 *             slot#global, slot#repo#<owner/name>,           concurrency semaphores (count, holders map)
 *             slot#requester#<requester>                     (the last only with concurrency.perRequester)
 *             queue#<runId>                                  a QUEUED run's queue entry: its order key, and the
 *                                                            task token its Admit state waits on (adapters/dynamodb/run-queue.ts)
 *             ledger#org#<yyyy-mm-dd>                        org daily committed spend (committedMicros, and
 *                                                            entries of active runs only: adapters/dynamodb/ledger-day.ts)
 *             ledger#requester#<requester>#<yyyy-mm-dd>      a requester's daily committed spend
 *             flag#intake                                    the spend circuit breaker (paused, reason, at)
 *             proxy#idle                                     since when the on-demand egress proxy has had no run (since)
 *           GSI byQueue (sparse: queue entries only), partition `queue` (one value), sort `queueOrder`
 *           (`<priority rank>#<runId>`), projection INCLUDE runId, repo, requester, held, wokenAt, since (never the token).
 * inbox     pk itemId (ULID). Items that need a human (core/inbox/): a paused run's question or
 *           approval with the task token its execution waits on (never shown by the API).
 *           GSIs with sort key itemId, projection ALL: byRun (runId), byState (state),
 *           byRequester (requester).
 * idempotency  Idempotency-Key records and webhook delivery markers (pk id, ttl expiration).
 */
export const runsKeys = { partitionKey: 'runId' } as const;
export const runsIndexes = {
  byKind: { name: 'byKind', partitionKey: 'kind' },
  byRequester: { name: 'byRequester', partitionKey: 'requester' },
  byRepo: { name: 'byRepo', partitionKey: 'repo' },
  byStatus: { name: 'byStatus', partitionKey: 'status' },
} as const;
export const runsIndexSortKey = 'runId';

/**
 * The KEYS_ONLY list indexes, one per combination of `GET /v1/runs` filters, keyed by the filters it
 * serves (`requester`, `repo`, `status` in that order, joined by `+`; `all` for none). A page is one Query
 * of limit+1 keys and one BatchGetItem of at most limit items, however many runs do not match.
 * The order here is the order a deployed stack adds them in (infra/run-index-stages.ts).
 */
export const runsListIndexes = {
  all: { name: 'listAll', partitionKey: 'kind' },
  status: { name: 'listByStatus', partitionKey: 'status' },
  repo: { name: 'listByRepo', partitionKey: 'repo' },
  requester: { name: 'listByRequester', partitionKey: 'requester' },
  'repo+status': { name: 'listByRepoStatus', partitionKey: 'repoStatus' },
  'requester+status': { name: 'listByRequesterStatus', partitionKey: 'requesterStatus' },
  'requester+repo': { name: 'listByRequesterRepo', partitionKey: 'requesterRepo' },
  'requester+repo+status': { name: 'listByRequesterRepoStatus', partitionKey: 'requesterRepoStatus' },
} as const;
export type RunsListIndexKey = keyof typeof runsListIndexes;
export const RUN_KIND = 'run';

export const inboxKeys = { partitionKey: 'itemId' } as const;
export const inboxIndexes = {
  byRun: { name: 'byRun', partitionKey: 'runId' },
  byState: { name: 'byState', partitionKey: 'state' },
  byRequester: { name: 'byRequester', partitionKey: 'requester' },
} as const;
export const inboxIndexSortKey = 'itemId';

export const eventsKeys = { partitionKey: 'runId', sortKey: 'seq' } as const;
export const controlKeys = { partitionKey: 'pk' } as const;
/** The control table's sparse index of queue entries, in admission order (adapters/dynamodb/run-queue.ts). */
export const queueIndex = {
  name: 'byQueue',
  partitionKey: 'queue',
  sortKey: 'queueOrder',
  projected: ['runId', 'repo', 'requester', 'held', 'wokenAt', 'since'],
} as const;
export const idempotencyKeys = { partitionKey: 'id', ttlAttribute: 'expiration' } as const;

export const controlItemKey = {
  globalSlot: () => 'slot#global',
  repoSlot: (repo: string) => `slot#repo#${repo.toLowerCase()}`,
  requesterSlot: (requester: string) => `slot#requester#${requester}`,
  queueEntry: (runId: string) => `queue#${runId}`,
  orgDay: (day: string) => `ledger#org#${day}`,
  requesterDay: (requester: string, day: string) => `ledger#requester#${requester}#${day}`,
  intakeFlag: () => 'flag#intake',
  /** When the run gauges first saw the on-demand egress proxy idle (adapters/dynamodb/proxy-idle-clock.ts). */
  proxyIdle: () => 'proxy#idle',
  /** A requester's review places (`concurrency.maxOpenPrsPerRequester`, core/runs/review-backlog.ts). */
  reviewPlaces: (requester: string) => `review-places#${requester}`,
  /** A GitHub thread's runs and notices (adapters/dynamodb/threads.ts), lower case. */
  thread: (thread: string) => `thread#${thread.toLowerCase()}`,
} as const;

/** Names of the tables, read from the environment (Lambda, runner, local mode) through one helper. */
export interface TableNames {
  runs: string;
  events: string;
  control: string;
  idempotency: string;
  inbox: string;
}

export { ledgerDay };
