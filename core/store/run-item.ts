import * as z from 'zod';
import { RunResume } from '../inbox/pause-report';
import { TokenUsage } from '../pricing';
import { RunKind, RunOutcome, RunSource, RunStatus } from '../runs/lifecycle';
import { AutomaticResumes } from '../runs/runner-stop';
import { RunError, RunId, RunPriority } from '../runs/schemas';
import type { RunPatch, RunRecord } from './ports';

const Micros = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const Timestamp = z.string().min(1);
const PullRequestOutcome = z.object({ number: z.number().int().positive(), state: z.enum(['merged', 'closed']), at: Timestamp }).strict();

/** A run record as read back from the runs table (ledger internals are stripped: see `LedgerState`). */
export const StoredRunRecord = z.object({
  runId: RunId,
  kind: z.literal('run'),
  repo: z.string().min(1),
  status: RunStatus,
  outcome: RunOutcome.nullable(),
  source: RunSource,
  requester: z.string().min(1),
  prompt: z.string(),
  baseBranch: z.string().nullable(),
  branch: z.string().nullable(),
  issue: z.number().int().nullable(),
  labels: z.array(z.string()),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  prUrl: z.string().nullable(),
  maxMinutes: z.number().int().positive(),
  queuePosition: z.number().int().nonnegative().nullable(),
  queueReason: z.string().max(1_000).nullable().optional(),
  priority: RunPriority.optional(),
  cancelRequested: z.boolean(),
  error: RunError.nullable(),
  tokens: TokenUsage,
  budgetMicros: Micros,
  spentMicros: Micros,
  ledgerDay: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  settled: z.boolean(),
  requestHash: z.string().nullable(),
  thread: z.string().nullable().optional(),
  plan: z.boolean().optional(),
  resume: RunResume.nullable().optional(),
  automaticResumes: AutomaticResumes.nullable().optional(),
  statusCommentId: z.number().int().positive().nullable().optional(),
  pullRequest: PullRequestOutcome.nullable().optional(),
  runKind: RunKind.optional(),
  pr: z.number().int().positive().nullable().optional(),
});

export const RunPatchSchema = z
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
    pullRequest: PullRequestOutcome.nullable(),
  })
  .partial()
  .strict();

/**
 * The ledger's bookkeeping on the run item, beside the RunRecord fields:
 *   calls          callId -> reserved worst-case micros of model calls in flight
 *   inflightMicros sum of `calls`
 *   headroomMicros budget - spent - inflight: a reservation is the single condition `headroom >= worst`
 *   settledCalls   callId -> real cost, so a call is counted once however often it is settled
 *   charges        chargeId -> micros, so a compute charge is counted once
 *   refundMicros   what settleRun returned to the day (set in the same write as `settled`):
 *                  budget - spent - in flight, never negative
 *   droppedCalls   calls still in flight when settleRun ran (their worst case stays on the day)
 *   lateMicros     real cost of dropped calls settled afterwards
 *   dayAdjustments entry -> signed micros the days must still move by after the refund, so that they
 *                  hold the run's true spend: `settle` (spent + in flight beyond the budget),
 *                  `call:<id>` (a dropped call's real cost minus its worst case), `charge:<id>` (a
 *                  charge after settle). `settle` moves the days in the write that ends the reservation; the
 *                  others are applied to each day once (`dayAdjustmentsApplied`).
 *   extensions     extensionId -> micros an approved budget_approval added to the budget (and to the
 *                  run's reservation on both days), once per extension
 */
export const LedgerState = z.object({
  calls: z.record(z.string(), Micros),
  inflightMicros: Micros,
  headroomMicros: z.number().int(),
  settledCalls: z.record(z.string(), Micros),
  charges: z.record(z.string(), Micros),
  refundMicros: Micros.optional(),
  droppedCalls: z.record(z.string(), Micros).optional(),
  lateMicros: Micros.optional(),
  dayAdjustments: z.record(z.string(), z.number().int()).optional(),
  /** `<requester|org>#<entry>` -> true once that day counts that adjustment (core/store/ledger-day.ts `applyLate`). */
  dayAdjustmentsApplied: z.record(z.string(), z.literal(true)).optional(),
  /** extensionId (the inbox item that approved it) -> micros added to the budget after submit (budget_approval). */
  extensions: z.record(z.string(), Micros).optional(),
});
export type LedgerState = z.infer<typeof LedgerState>;

export const StoredRunItem = StoredRunRecord.extend(LedgerState.shape);
export type StoredRunItem = z.infer<typeof StoredRunItem>;

// Compile-time proof that the schemas and the port's interfaces describe the same shapes.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const recordMatches: Same<z.infer<typeof StoredRunRecord>, RunRecord> = true;
const patchMatches: Same<z.infer<typeof RunPatchSchema>, RunPatch> = true;
void recordMatches;
void patchMatches;

/** The item written by `create`: the record plus an empty ledger. */
export function newRunItem(run: RunRecord): StoredRunItem {
  const record = StoredRunRecord.parse(run);
  return {
    ...record,
    calls: {},
    inflightMicros: 0,
    headroomMicros: record.budgetMicros - record.spentMicros,
    settledCalls: {},
    charges: {},
  };
}

export function toRunRecord(item: unknown): RunRecord {
  return StoredRunRecord.parse(item);
}
