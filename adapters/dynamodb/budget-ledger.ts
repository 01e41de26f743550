import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { BudgetExtensionRefusedError, BudgetRefusedError } from '../../core/errors';

export { BudgetExtensionRefusedError };
import { TokenUsage } from '../../core/pricing';
import { RunId } from '../../core/runs/schemas';
import type { BudgetLedgerPort, DailyLimits } from '../../core/store/ports';
import { createLedgerDays, LedgerInconsistencyError } from './ledger-day';
import { CallNotReservedError, createLedgerRuns } from './ledger-run';
import type { StoredRunItem as RunItem } from './run-item';
import { controlItemKey } from './tables';

/**
 * The budget ledger, in integer micro-USD, as single-item conditional writes (no transactions, so it
 * runs on dynalite too: docs/decisions/0002-single-item-conditional-writes.md). DynamoDB conditions
 * cannot do arithmetic, so every limit is checked against a counter kept in the same item:
 * `headroomMicros` on the run (the run ledger, adapters/dynamodb/ledger-run.ts), `committedMicros <= limit -
 * amount` (computed by the caller) on a day (the day ledger, adapters/dynamodb/ledger-day.ts, which keeps a
 * day's item the same size however many runs the day has). This module validates the port's inputs
 * and orders the writes on the run and on its two days; docs/data-model.md explains why each write is
 * race-free.
 */

export { CallNotReservedError, LedgerInconsistencyError };

const Micros = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a UTC day (yyyy-mm-dd)');
const EntryId = z.string().regex(/^[A-Za-z0-9._:#-]{1,128}$/, 'must be 1-128 of letters, digits, ".", "_", ":", "#" or "-"');
const Requester = z.string().min(1).max(2_048);

const ReserveRunInput = z
  .object({
    runId: RunId,
    requester: Requester,
    day: Day,
    budgetMicros: Micros.positive(),
    limits: z.object({ requesterDailyMicros: Micros, orgDailyMicros: Micros }).strict(),
  })
  .strict();
const ReleaseInput = ReserveRunInput.omit({ limits: true });

/** Seconds until the next UTC midnight: when a refused submission can next fit a fresh day. */
export function secondsUntilNextUtcDay(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

type DayScope = 'requester' | 'org';
/** Post-settle calls and charges never carry `settle`, which settleRun moves with the reservation. */
const bothDays: ReadonlySet<DayScope> = new Set<DayScope>(['requester', 'org']);

export function createBudgetLedger(
  doc: DynamoDBDocumentClient,
  tables: { runs: string; control: string },
  now: () => Date = () => new Date(),
): BudgetLedgerPort {
  const runs = createLedgerRuns(doc, tables.runs);
  const days = createLedgerDays(doc, tables.control);

  /** The run's two days: what each is called on the run's `dayAdjustmentsApplied` markers, and its item key. */
  function runDays(item: { requester: string; ledgerDay: string }): Array<{ scope: DayScope; pk: string }> {
    return [
      { scope: 'requester', pk: controlItemKey.requesterDay(item.requester, item.ledgerDay) },
      { scope: 'org', pk: controlItemKey.orgDay(item.ledgerDay) },
    ];
  }

  /**
   * Applies the run's recorded post-settle adjustments (all, or only `entry`) to its requester and org
   * day, each once per day. `settle` (spent beyond the budget) travels in the write that ends the
   * reservation, except for a run whose refund an older version made (it kept the `refunds` marker).
   */
  async function applyDayAdjustments(item: RunItem, options: { entry?: string; settleFoldedOn: ReadonlySet<DayScope> }): Promise<void> {
    for (const [key, micros] of Object.entries(item.dayAdjustments ?? {})) {
      if (options.entry !== undefined && key !== options.entry) continue;
      for (const { scope, pk } of runDays(item)) {
        if (key === 'settle' && options.settleFoldedOn.has(scope)) continue;
        const marker = `${scope}#${key}`;
        await days.applyLate(pk, `${item.runId}#${key}`, micros, {
          applied: async () => (await runs.requireItem(item.runId)).dayAdjustmentsApplied?.[marker] === true,
          markApplied: () => runs.markAdjustmentApplied(item.runId, marker),
        });
      }
    }
  }

  async function reserveRun(input: {
    runId: string;
    requester: string;
    day: string;
    budgetMicros: number;
    limits: DailyLimits;
  }): Promise<void> {
    const { runId, requester, day, budgetMicros, limits } = ReserveRunInput.parse(input);
    const requesterKey = controlItemKey.requesterDay(requester, day);
    const orgKey = controlItemKey.orgDay(day);
    /** A fault on either day fails the submit, so neither day may keep the run (a write can land before its answer is lost). */
    const reserveOn = async (pk: string, limit: number): Promise<boolean> => {
      try {
        return await days.reserve(pk, day, runId, budgetMicros, limit);
      } catch (error) {
        if (!(error instanceof LedgerInconsistencyError)) await releaseRunReservation({ runId, requester, day, budgetMicros });
        throw error;
      }
    };
    if (!(await reserveOn(requesterKey, limits.requesterDailyMicros))) {
      throw new BudgetRefusedError('requester', secondsUntilNextUtcDay(now()));
    }
    if (!(await reserveOn(orgKey, limits.orgDailyMicros))) {
      // Undo the requester's reservation; its entry is removed in the same write, so a retry is harmless.
      await days.endReservation(requesterKey, runId, budgetMicros, -budgetMicros, []);
      throw new BudgetRefusedError('org', secondsUntilNextUtcDay(now()));
    }
  }

  async function releaseRunReservation(input: { runId: string; requester: string; day: string; budgetMicros: number }): Promise<void> {
    const { runId, requester, day, budgetMicros } = ReleaseInput.parse(input);
    // 'missing' is fine here: a run that never reserved (or was released before) has nothing to give back.
    await days.endReservation(controlItemKey.orgDay(day), runId, budgetMicros, -budgetMicros, []);
    await days.endReservation(controlItemKey.requesterDay(requester, day), runId, budgetMicros, -budgetMicros, []);
  }

  async function reserveCall(runId: string, callId: string, worstMicros: number): Promise<void> {
    RunId.parse(runId);
    EntryId.parse(callId);
    Micros.parse(worstMicros);
    await runs.reserveCall(runId, callId, worstMicros);
  }

  async function settleCall(runId: string, callId: string, actualMicros: number, usage: TokenUsage): Promise<void> {
    RunId.parse(runId);
    EntryId.parse(callId);
    Micros.parse(actualMicros);
    const recorded = await runs.settleCall(runId, callId, actualMicros, TokenUsage.parse(usage));
    if (recorded) await applyDayAdjustments(recorded, { entry: `call:${callId}`, settleFoldedOn: bothDays });
  }

  async function charge(runId: string, chargeId: string, micros: number): Promise<void> {
    RunId.parse(runId);
    EntryId.parse(chargeId);
    Micros.parse(micros);
    const recorded = await runs.charge(runId, chargeId, micros);
    if (recorded) await applyDayAdjustments(recorded, { entry: `charge:${chargeId}`, settleFoldedOn: bothDays });
  }

  async function settleRun(runId: string): Promise<{ refundedMicros: number; spentMicros: number }> {
    RunId.parse(runId);
    // Step 1 of 2, on the run: decide the refund once.
    const item = await runs.settle(runId);
    if (item.refundMicros === undefined) throw new LedgerInconsistencyError(`run ${runId} is settled without a refund amount`);
    // Step 2 of 2: on each day, replace the run's reservation by what it holds (budget - refund, plus
    // any spend beyond the budget) and remove its entry, in one write pinned to the entry, so a crash
    // between the steps is repaired by calling settleRun again and a second call changes nothing.
    const settleAdjustment = item.dayAdjustments?.settle ?? 0;
    const taken = Object.keys(item.extensions ?? {});
    const settleFoldedOn = new Set<DayScope>();
    for (const { scope, pk } of runDays(item)) {
      const ended = await days.endReservation(pk, runId, item.budgetMicros, settleAdjustment - item.refundMicros, taken);
      // A refund made by the previous format kept its `refunds` marker and left `settle` to the adjustments.
      if (ended !== 'ended-in-old-format') settleFoldedOn.add(scope);
    }
    // And every adjustment recorded since (late calls and charges), each once per day.
    await applyDayAdjustments(item, { settleFoldedOn });
    return { refundedMicros: item.refundMicros, spentMicros: item.spentMicros };
  }

  async function extendRun(input: {
    runId: string;
    extensionId: string;
    extraMicros: number;
    maxBudgetMicros: number;
    limits: DailyLimits;
  }): Promise<{ budgetMicros: number }> {
    const runId = RunId.parse(input.runId);
    const extensionId = EntryId.parse(input.extensionId);
    const extra = Micros.positive().parse(input.extraMicros);
    const item = await runs.requireItem(runId);
    if (item.extensions?.[extensionId] !== undefined) return { budgetMicros: item.budgetMicros };
    if (item.settled) throw new BudgetExtensionRefusedError(runId, 'it has ended');
    if (item.budgetMicros + extra > input.maxBudgetMicros)
      throw new BudgetExtensionRefusedError(
        runId,
        `its budget would be ${item.budgetMicros + extra} micro-USD, above budgets.maxPerRunUsd (${input.maxBudgetMicros})`,
      );
    const key = `${runId}#${extensionId}`;
    const requesterKey = controlItemKey.requesterDay(item.requester, item.ledgerDay);
    const orgKey = controlItemKey.orgDay(item.ledgerDay);
    const onRequester = await days.extend(requesterKey, runId, key, extra, input.limits.requesterDailyMicros);
    if (onRequester === 'ended') throw new BudgetExtensionRefusedError(runId, 'it has ended');
    if (onRequester === 'refused') throw new BudgetRefusedError('requester', secondsUntilNextUtcDay(now()));
    const onOrg = await days.extend(orgKey, runId, key, extra, input.limits.orgDailyMicros);
    if (onOrg !== 'extended') {
      await days.undoExtension(requesterKey, runId, key, extra);
      if (onOrg === 'ended') throw new BudgetExtensionRefusedError(runId, 'it has ended');
      throw new BudgetRefusedError('org', secondsUntilNextUtcDay(now()));
    }
    const extended = await runs.extend(runId, extensionId, extra);
    if (extended !== 'ended') return extended;
    // Settled meanwhile: its refund was computed without the extension, so the days must not keep it.
    await days.undoExtension(orgKey, runId, key, extra);
    await days.undoExtension(requesterKey, runId, key, extra);
    throw new BudgetExtensionRefusedError(runId, 'it has ended');
  }

  return { reserveRun, releaseRunReservation, reserveCall, settleCall, charge, settleRun, extendRun };
}
