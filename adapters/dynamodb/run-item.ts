import * as z from 'zod';
import { Micros, RunRecord } from '../../core/runs/run-record';
import { runIndexKeys, type RunIndexKeys } from '../../core/store/run-index-keys';

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
  /** `<requester|org>#<entry>` -> true once that day counts that adjustment (adapters/dynamodb/ledger-day.ts `applyLate`). */
  dayAdjustmentsApplied: z.record(z.string(), z.literal(true)).optional(),
  /** extensionId (the inbox item that approved it) -> micros added to the budget after submit (budget_approval). */
  extensions: z.record(z.string(), Micros).optional(),
});
export type LedgerState = z.infer<typeof LedgerState>;

export const StoredRunItem = RunRecord.extend(LedgerState.shape);
export type StoredRunItem = z.infer<typeof StoredRunItem>;

/** The item written by `create`: the record, an empty ledger and the list indexes' derived keys. */
export function newRunItem(run: RunRecord): StoredRunItem & RunIndexKeys {
  const record = RunRecord.parse(run);
  return {
    ...record,
    ...runIndexKeys(record),
    calls: {},
    inflightMicros: 0,
    headroomMicros: record.budgetMicros - record.spentMicros,
    settledCalls: {},
    charges: {},
  };
}

export function toRunRecord(item: unknown): RunRecord {
  return RunRecord.parse(item);
}
