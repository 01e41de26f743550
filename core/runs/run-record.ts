import * as z from 'zod';
import { RunResume } from '../inbox/pause-report';
import { TokenUsage } from '../pricing';
import { AutomaticResumes } from './runner-stop';
import { RunKind, RunOutcome, RunSource, RunStatus } from './lifecycle';
import { RunError, RunId, RunPriority } from './schemas';

export const Micros = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const Timestamp = z.string().min(1);
/** How the pull request of the run's thread ended on GitHub (`pull_request.closed`), and when. */
export const PullRequestOutcome = z
  .object({ number: z.number().int().positive(), state: z.enum(['merged', 'closed']), at: Timestamp })
  .strict();

/**
 * A run as stored (runs table), without the ledger's bookkeeping (adapters/dynamodb/run-item.ts `LedgerState`).
 * Money in integer micro-USD. The type is inferred from this schema, so the two cannot drift.
 */
export const RunRecord = z.object({
  runId: RunId,
  kind: z.literal('run'),
  repo: z.string().min(1),
  status: RunStatus,
  outcome: RunOutcome.nullable(),
  source: RunSource,
  requester: z.string().min(1),
  prompt: z.string(),
  baseBranch: z.string().nullable(),
  /** The branch to continue (request `branch`), or the run branch once the runner created it. */
  branch: z.string().nullable(),
  issue: z.number().int().nullable(),
  labels: z.array(z.string()),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  prUrl: z.string().nullable(),
  maxMinutes: z.number().int().positive(),
  queuePosition: z.number().int().nonnegative().nullable(),
  /** Why a QUEUED run waits (a concurrency slot, its thread, its requester's review backlog); absent or null otherwise. */
  queueReason: z.string().max(1_000).nullable().optional(),
  /** Queue priority (core/runs/schemas.ts RunPriority); absent on runs stored before priorities: `normal`. */
  priority: RunPriority.optional(),
  cancelRequested: z.boolean(),
  error: RunError.nullable(),
  tokens: TokenUsage,
  /** Ledger: the budget reserved against the day at submit. */
  budgetMicros: Micros,
  /** Ledger: settled model calls and compute charges. */
  spentMicros: Micros,
  /** Ledger: the UTC day the budget was reserved against (yyyy-mm-dd). */
  ledgerDay: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** Ledger: set once the unused budget has been returned to the day. */
  settled: z.boolean(),
  /** Hash of the submit body when the request carried an Idempotency-Key. */
  requestHash: z.string().nullable(),
  /** The GitHub thread (`owner/name#N`) of a run started from an issue or pull request. */
  thread: z.string().nullable().optional(),
  /** Submitted with `plan: true`: the run proposes a plan for approval before any edit (absent otherwise). */
  plan: z.boolean().optional(),
  /** Set by a pause (core/runs/pause.ts): what the next runner task of the run restores. Absent on runs that never paused. */
  resume: RunResume.nullable().optional(),
  /** Set by an automatic resume (core/runs/automatic-resume.ts): how often the run resumed without a human, and on which capacity. */
  automaticResumes: AutomaticResumes.nullable().optional(),
  /** The id of the run's one status comment on its GitHub thread, edited in place (core/github/run-status.ts). */
  statusCommentId: z.number().int().positive().nullable().optional(),
  /** The queue place the status comment shows while the run is queued (core/github/queue-comments.ts); null when it shows no place (behind its thread, waiting, resumed). */
  statusCommentPosition: z.number().int().positive().nullable().optional(),
  /** How the pull request of the run's thread ended on GitHub (`pull_request.closed`), and when. */
  pullRequest: PullRequestOutcome.nullable().optional(),
  /** What the run does (`kind`, docs/api.md); absent on runs stored before review runs: `change`. (`kind` is the table's item type.) */
  runKind: RunKind.optional(),
  /** The pull request a review run reviews. */
  pr: z.number().int().positive().nullable().optional(),
});

/** The fields a transition or a patch may change (core/store/ports.ts `RunRepository`). */
export const RunPatch = z
  .object({
    outcome: RunOutcome.nullable(),
    branch: z.string().nullable(),
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
    prUrl: z.string().nullable(),
    queuePosition: z.number().int().nonnegative().nullable(),
    queueReason: z.string().max(1_000).nullable(),
    error: RunError.nullable(),
    cancelRequested: z.boolean(),
    resume: RunResume.nullable(),
    automaticResumes: AutomaticResumes.nullable(),
    statusCommentId: z.number().int().positive().nullable(),
    statusCommentPosition: z.number().int().positive().nullable(),
    pullRequest: PullRequestOutcome.nullable(),
  })
  .partial()
  .strict();

export type RunRecord = z.infer<typeof RunRecord>;
export type RunPatch = z.infer<typeof RunPatch>;
export type PullRequestOutcome = z.infer<typeof PullRequestOutcome>;

/** The UTC day a ledger entry belongs to. */
export function ledgerDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}
