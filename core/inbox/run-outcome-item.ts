import { createHash } from 'node:crypto';
import { microsToUsd } from '../pricing';
import { ulidOf } from '../runs/run-id';
import type { RunRecord } from '../store/ports';
import type { StoredInboxItem } from '../store/inbox-store-port';

/**
 * The informational inbox items a run leaves when it ends (docs/inbox.md#pr_ready-and-failed): `pr_ready` when it opened a pull
 * request for review, `failed` when it failed. Nothing waits on them (no task token, no checkpoint):
 * they are resolved by `dismiss`, and a `pr_ready` also when its pull request is merged or closed
 * (core/github/pull-outcome.ts). Open `pr_ready` items hold the requester's review places
 * (`concurrency.maxOpenPrsPerRequester`, core/runs/review-backlog.ts).
 *
 * Which endings leave one (our choice):
 * - `pr_ready`: SUCCEEDED with outcome `pr_opened`. A run that pushed to an existing pull request
 *   (`pr_updated`) leaves none: that pull request already had its item, and counting it twice would
 *   double the backlog;
 * - `failed`: FAILED, TIMED_OUT (no answer in time included) and BUDGET_EXCEEDED, except
 *   `budget_declined` (the requester chose it) and `execution_start_failed` (submit answered the error
 *   to the caller at once). CANCELLED leaves none: someone asked for it.
 */
export type RunOutcomeItemType = 'pr_ready' | 'failed';

const NOT_WORTH_AN_ITEM = new Set(['budget_declined', 'execution_start_failed']);

const MAX_ERROR_CHARS = 2_000;

export function outcomeItemType(run: Pick<RunRecord, 'status' | 'outcome' | 'prUrl' | 'error'>): RunOutcomeItemType | undefined {
  if (run.status === 'SUCCEEDED') return run.outcome === 'pr_opened' && run.prUrl !== null ? 'pr_ready' : undefined;
  if (run.status === 'FAILED' || run.status === 'TIMED_OUT' || run.status === 'BUDGET_EXCEEDED')
    return run.error && NOT_WORTH_AN_ITEM.has(run.error.code) ? undefined : 'failed';
  return undefined;
}

/**
 * The item's id: a ULID (items sort by creation like every other) whose time is the run's end and
 * whose random part comes from the run id and the type, so a retried Finalize, or the backstop after
 * the state machine, finds the same item instead of making a second one.
 */
export function outcomeItemId(runId: string, type: RunOutcomeItemType, endedAt: string): string {
  const random = BigInt(`0x${createHash('sha256').update(`${runId}\0${type}`).digest('hex').slice(0, 20)}`);
  return ulidOf(Date.parse(endedAt), random);
}

/** The item an ended run leaves, or undefined when its ending leaves none. */
export function runOutcomeItem(run: RunRecord): StoredInboxItem | undefined {
  const type = outcomeItemType(run);
  if (!type || run.finishedAt === null) return undefined;
  const base = {
    itemId: outcomeItemId(run.runId, type, run.finishedAt),
    type,
    state: 'open' as const,
    runId: run.runId,
    repo: run.repo,
    requester: run.requester,
    createdAt: run.finishedAt,
    resolvedAt: null,
    resolvedBy: null,
    resolution: null,
    taskToken: null,
    checkpoint: null,
  };
  if (type === 'pr_ready') {
    return {
      ...base,
      message: `The run opened a draft pull request for review: ${run.prUrl}`,
      details: { prUrl: run.prUrl, branch: run.branch, costUsd: microsToUsd(run.spentMicros) },
    };
  }
  const error = run.error ?? { code: 'failed', message: 'the run failed' };
  const message = error.message.length > MAX_ERROR_CHARS ? `${error.message.slice(0, MAX_ERROR_CHARS)}…` : error.message;
  return {
    ...base,
    message: `The run ended ${run.status}: ${message}`,
    details: { status: run.status, error: { code: error.code, message }, branch: run.branch, costUsd: microsToUsd(run.spentMicros) },
  };
}
