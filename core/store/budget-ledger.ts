import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { BudgetExhaustedError, BudgetRefusedError, RunNotFoundError } from '../errors';
import { TokenUsage } from '../pricing';
import { RunId } from '../runs/schemas';
import type { BudgetLedgerPort, DailyLimits } from './ports';
import { StoredRunItem, type StoredRunItem as RunItem } from './run-item';
import { controlItemKey } from './tables';

/**
 * The budget ledger, in integer micro-USD, as single-item conditional writes (no transactions, so it
 * runs on dynalite too). DynamoDB conditions cannot do arithmetic, so every limit is checked against
 * a counter kept in the same item: `headroomMicros` on the run, `committedMicros <= limit - amount`
 * (computed by the caller) on a day. docs/data-model.md explains why each write is race-free.
 */

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

/** A day's committed spend: reservations of runs not yet settled plus what settled runs spent. */
const DayItem = z.object({
  committedMicros: z.number().int(),
  reservations: z.record(z.string(), Micros),
  refunds: z.record(z.string(), Micros),
});

/** A call settled that was never reserved: a bug in the caller, never silently counted or dropped. */
export class CallNotReservedError extends Error {
  constructor(
    readonly runId: string,
    readonly callId: string,
  ) {
    super(`run ${runId} has no reservation for call ${callId}`);
    this.name = 'CallNotReservedError';
  }
}

/** The ledger found state it can only reach through a bug or a manual edit; it refuses to guess about money. */
/** A budget extension the run cannot take: it ended, or its budget would pass `budgets.maxPerRunUsd`. */
export class BudgetExtensionRefusedError extends Error {
  constructor(
    readonly runId: string,
    reason: string,
  ) {
    super(`run ${runId} cannot take more budget: ${reason}`);
    this.name = 'BudgetExtensionRefusedError';
  }
}

export class LedgerInconsistencyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerInconsistencyError';
  }
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

/** Seconds until the next UTC midnight: when a refused submission can next fit a fresh day. */
export function secondsUntilNextUtcDay(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/** settleRun retries its one conditional write while settleCall/charge move `spentMicros` under it. */
const maxSettleAttempts = 20;

export function createBudgetLedger(
  doc: DynamoDBDocumentClient,
  tables: { runs: string; control: string },
  now: () => Date = () => new Date(),
): BudgetLedgerPort {
  async function getRunItem(runId: string): Promise<RunItem | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: tables.runs, Key: { runId }, ConsistentRead: true }));
    return Item ? StoredRunItem.parse(Item) : undefined;
  }

  async function requireRunItem(runId: string): Promise<RunItem> {
    const item = await getRunItem(runId);
    if (!item) throw new RunNotFoundError(runId);
    return item;
  }

  async function getDayItem(pk: string): Promise<z.infer<typeof DayItem> | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: tables.control, Key: { pk }, ConsistentRead: true }));
    return Item ? DayItem.parse(Item) : undefined;
  }

  /** Creates the day item's counter and maps if absent (a nested map key cannot be set on a missing map). */
  async function ensureDayItem(pk: string, day: string): Promise<void> {
    await doc.send(
      new UpdateCommand({
        TableName: tables.control,
        Key: { pk },
        UpdateExpression:
          'SET committedMicros = if_not_exists(committedMicros, :zero), reservations = if_not_exists(reservations, :empty), refunds = if_not_exists(refunds, :empty), #day = :day',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: { ':zero': 0, ':empty': {}, ':day': day },
      }),
    );
  }

  /** Adds the run's reservation to one day item if it fits; false when the day's limit refuses it. */
  async function reserveOnDay(pk: string, day: string, runId: string, micros: number, limit: number): Promise<boolean> {
    if (micros > limit) return false;
    await ensureDayItem(pk, day);
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tables.control,
          Key: { pk },
          // committed + micros <= limit, rearranged because conditions have no arithmetic.
          ConditionExpression: 'attribute_not_exists(reservations.#run) AND committedMicros <= :room',
          UpdateExpression: 'SET committedMicros = committedMicros + :micros, reservations.#run = :micros',
          ExpressionAttributeNames: { '#run': runId },
          ExpressionAttributeValues: { ':room': limit - micros, ':micros': micros },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const current = await getDayItem(pk);
    const reserved = current?.reservations[runId];
    if (reserved === undefined) return false;
    // The run reserved on this day before (a retried submit): the same reservation stands, once.
    if (reserved !== micros || current?.refunds[runId] !== undefined) {
      throw new LedgerInconsistencyError(`run ${runId} already has a different or finished reservation on ${pk}`);
    }
    return true;
  }

  /**
   * Returns `micros` of the run's reservation to one day item, at most once per run: the `refunds`
   * marker and the amount are written in the same conditional update.
   */
  async function refundOnDay(pk: string, runId: string, micros: number, whenNotReserved: 'ignore' | 'throw'): Promise<void> {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tables.control,
          Key: { pk },
          ConditionExpression: 'reservations.#run >= :micros AND attribute_not_exists(refunds.#run)',
          UpdateExpression: 'SET committedMicros = committedMicros - :micros, refunds.#run = :micros',
          ExpressionAttributeNames: { '#run': runId },
          ExpressionAttributeValues: { ':micros': micros },
        }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const current = await getDayItem(pk);
    if (current?.refunds[runId] !== undefined) return; // refunded before: exactly once
    if (current?.reservations[runId] === undefined && whenNotReserved === 'ignore') return;
    throw new LedgerInconsistencyError(`run ${runId} cannot return ${micros} micro-USD to ${pk}: reservation ${current?.reservations[runId] ?? 'missing'}`);
  }

  /**
   * Moves one day's committed spend by a run's post-settle adjustment (see `dayAdjustments` on the run
   * item), at most once per run and entry: the `adjustments` marker is written with the amount. Only
   * UpdateItem, so the runner (which charges after settle) needs no read access to the days.
   */
  async function adjustDay(pk: string, runId: string, entry: string, micros: number): Promise<void> {
    if (micros === 0) return;
    // The day item exists (the run reserved on it); never create a stray one.
    await doc.send(
      new UpdateCommand({
        TableName: tables.control,
        Key: { pk },
        ConditionExpression: 'attribute_exists(committedMicros)',
        UpdateExpression: 'SET adjustments = if_not_exists(adjustments, :empty)',
        ExpressionAttributeValues: { ':empty': {} },
      }),
    );
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tables.control,
          Key: { pk },
          ConditionExpression: 'attribute_not_exists(adjustments.#key)',
          UpdateExpression: 'SET committedMicros = committedMicros + :micros, adjustments.#key = :micros',
          ExpressionAttributeNames: { '#key': `${runId}#${entry}` },
          ExpressionAttributeValues: { ':micros': micros },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The marker exists: this adjustment was applied to this day before.
    }
  }

  /** Applies the run's recorded post-settle adjustments (all, or only `entry`) to its requester and org day. */
  async function applyDayAdjustments(item: RunItem, entry?: string): Promise<void> {
    for (const [key, micros] of Object.entries(item.dayAdjustments ?? {})) {
      if (entry !== undefined && key !== entry) continue;
      await adjustDay(controlItemKey.requesterDay(item.requester, item.ledgerDay), item.runId, key, micros);
      await adjustDay(controlItemKey.orgDay(item.ledgerDay), item.runId, key, micros);
    }
  }

  /** Records on a settled run an amount its days must still move by (once per entry; a settle-time map may predate this). */
  async function ensureAdjustmentsMap(runId: string): Promise<void> {
    await doc.send(
      new UpdateCommand({
        TableName: tables.runs,
        Key: { runId },
        ConditionExpression: 'settled = :true',
        UpdateExpression: 'SET dayAdjustments = if_not_exists(dayAdjustments, :empty)',
        ExpressionAttributeValues: { ':true': true, ':empty': {} },
      }),
    );
  }

  async function reserveRun(input: { runId: string; requester: string; day: string; budgetMicros: number; limits: DailyLimits }): Promise<void> {
    const { runId, requester, day, budgetMicros, limits } = ReserveRunInput.parse(input);
    const requesterKey = controlItemKey.requesterDay(requester, day);
    const orgKey = controlItemKey.orgDay(day);
    if (!(await reserveOnDay(requesterKey, day, runId, budgetMicros, limits.requesterDailyMicros))) {
      throw new BudgetRefusedError('requester', secondsUntilNextUtcDay(now()));
    }
    if (!(await reserveOnDay(orgKey, day, runId, budgetMicros, limits.orgDailyMicros))) {
      // Undo the requester's reservation; the refund marker makes a retry of this undo harmless.
      await refundOnDay(requesterKey, runId, budgetMicros, 'throw');
      throw new BudgetRefusedError('org', secondsUntilNextUtcDay(now()));
    }
  }

  async function releaseRunReservation(input: { runId: string; requester: string; day: string; budgetMicros: number }): Promise<void> {
    const { runId, requester, day, budgetMicros } = ReleaseInput.parse(input);
    await refundOnDay(controlItemKey.orgDay(day), runId, budgetMicros, 'ignore');
    await refundOnDay(controlItemKey.requesterDay(requester, day), runId, budgetMicros, 'ignore');
  }

  async function reserveCall(runId: string, callId: string, worstMicros: number): Promise<void> {
    RunId.parse(runId);
    EntryId.parse(callId);
    Micros.parse(worstMicros);
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tables.runs,
          Key: { runId },
          // spent + in flight + worst <= budget, as one comparison against the headroom counter.
          ConditionExpression:
            'attribute_exists(runId) AND settled = :false AND attribute_not_exists(calls.#call) AND attribute_not_exists(settledCalls.#call) AND headroomMicros >= :worst',
          UpdateExpression: 'SET calls.#call = :worst, inflightMicros = inflightMicros + :worst, headroomMicros = headroomMicros - :worst',
          ExpressionAttributeNames: { '#call': callId },
          ExpressionAttributeValues: { ':false': false, ':worst': worstMicros },
        }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const item = await requireRunItem(runId);
    if (item.calls[callId] !== undefined || item.settledCalls[callId] !== undefined) return; // reserved before
    throw new BudgetExhaustedError(runId, worstMicros, item.settled ? 0 : Math.max(0, item.headroomMicros));
  }

  function tokenUpdate(usage: TokenUsage): { expression: string; names: Record<string, string>; values: Record<string, number> } {
    const fields = ['input', 'output', 'cacheRead', 'cacheWrite'] as const;
    return {
      expression: fields.map((field) => `tokens.#t_${field} = tokens.#t_${field} + :t_${field}`).join(', '),
      names: Object.fromEntries(fields.map((field) => [`#t_${field}`, field])),
      values: Object.fromEntries(fields.map((field) => [`:t_${field}`, usage[field]])),
    };
  }

  async function settleCall(runId: string, callId: string, actualMicros: number, usage: TokenUsage): Promise<void> {
    RunId.parse(runId);
    EntryId.parse(callId);
    Micros.parse(actualMicros);
    const tokens = tokenUpdate(TokenUsage.parse(usage));
    const entry = `call:${callId}`;
    const item = await requireRunItem(runId);
    if (item.settledCalls[callId] !== undefined) {
      // Settled before: counted once on the run; finish its day adjustment if a crash interrupted it.
      return applyDayAdjustments(item, entry);
    }
    const reserved = item.calls[callId];
    if (reserved !== undefined && !item.settled) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tables.runs,
            Key: { runId },
            // Pinning the reservation read above makes the headroom delta exact; a racing settle of
            // the same call removes it, so only one of them passes.
            ConditionExpression: 'settled = :false AND calls.#call = :reserved',
            UpdateExpression: `REMOVE calls.#call SET inflightMicros = inflightMicros - :reserved, headroomMicros = headroomMicros + :delta, spentMicros = spentMicros + :actual, settledCalls.#call = :actual, ${tokens.expression}`,
            ExpressionAttributeNames: { '#call': callId, ...tokens.names },
            ExpressionAttributeValues: { ':false': false, ':reserved': reserved, ':delta': reserved - actualMicros, ':actual': actualMicros, ...tokens.values },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      // Either another settle of this call won, or settleRun ended the run meanwhile: look again.
      return settleCall(runId, callId, actualMicros, usage);
    }
    const dropped = item.droppedCalls?.[callId];
    if (item.settled && dropped !== undefined) {
      // The run ended while this call was in flight: settleRun kept its worst case on the days. Its
      // real cost is recorded against the run (once), and the days move by real − worst case, so they
      // hold the true spend.
      await ensureAdjustmentsMap(runId);
      let recorded: RunItem;
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tables.runs,
            Key: { runId },
            ConditionExpression: 'settled = :true AND droppedCalls.#call = :dropped AND attribute_not_exists(settledCalls.#call)',
            UpdateExpression: `REMOVE droppedCalls.#call SET spentMicros = spentMicros + :actual, lateMicros = if_not_exists(lateMicros, :zero) + :actual, settledCalls.#call = :actual, dayAdjustments.#entry = :delta, ${tokens.expression}`,
            ExpressionAttributeNames: { '#call': callId, '#entry': entry, ...tokens.names },
            ExpressionAttributeValues: { ':true': true, ':dropped': dropped, ':actual': actualMicros, ':zero': 0, ':delta': actualMicros - dropped, ...tokens.values },
            ReturnValues: 'ALL_NEW',
          }),
        );
        recorded = StoredRunItem.parse(Attributes);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        recorded = await requireRunItem(runId);
        if (recorded.settledCalls[callId] === undefined) throw error;
      }
      return applyDayAdjustments(recorded, entry);
    }
    throw new CallNotReservedError(runId, callId);
  }

  async function charge(runId: string, chargeId: string, micros: number): Promise<void> {
    RunId.parse(runId);
    EntryId.parse(chargeId);
    Micros.parse(micros);
    const entry = `charge:${chargeId}`;
    // Two rounds at most: the run can settle between the first write and the read after it.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tables.runs,
            Key: { runId },
            ConditionExpression: 'attribute_exists(runId) AND settled = :false AND attribute_not_exists(charges.#charge)',
            UpdateExpression: 'SET charges.#charge = :micros, spentMicros = spentMicros + :micros, headroomMicros = headroomMicros - :micros',
            ExpressionAttributeNames: { '#charge': chargeId },
            ExpressionAttributeValues: { ':false': false, ':micros': micros },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const item = await requireRunItem(runId);
      const previous = item.charges[chargeId];
      if (previous !== undefined) {
        if (previous !== micros) throw new LedgerInconsistencyError(`run ${runId} charge ${chargeId} was ${previous} micro-USD, now asked for ${micros}`);
        // Charged before: counted once on the run; finish its day adjustment if a crash interrupted it.
        return applyDayAdjustments(item, entry);
      }
      if (!item.settled) continue;
      // The run settled first (the runner's SIGTERM path charges after finalize): the refund is already
      // back on the days, so the charge is added to them too, or the day would under-count what was spent.
      await ensureAdjustmentsMap(runId);
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tables.runs,
            Key: { runId },
            ConditionExpression: 'settled = :true AND attribute_not_exists(charges.#charge)',
            UpdateExpression: 'SET charges.#charge = :micros, spentMicros = spentMicros + :micros, dayAdjustments.#entry = :micros',
            ExpressionAttributeNames: { '#charge': chargeId, '#entry': entry },
            ExpressionAttributeValues: { ':true': true, ':micros': micros },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return applyDayAdjustments(StoredRunItem.parse(Attributes), entry);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new LedgerInconsistencyError(`run ${runId} charge ${chargeId} could not be recorded`);
  }

  async function settleRun(runId: string): Promise<{ refundedMicros: number; spentMicros: number }> {
    RunId.parse(runId);
    let item = await requireRunItem(runId);
    for (let attempt = 1; !item.settled; attempt += 1) {
      // Calls in flight keep their worst case on the days until they settle (late) at their real cost.
      const held = item.spentMicros + item.inflightMicros;
      const refund = Math.max(0, item.budgetMicros - held);
      // A run may end above its budget (a call's real cost over its estimate, compute): the days count that too.
      const adjustments = held > item.budgetMicros ? { settle: held - item.budgetMicros } : {};
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tables.runs,
            Key: { runId },
            // Step 1 of 2: decide the refund once. Pinning spent and in flight keeps the refund exact
            // while settleCall, reserveCall or charge race with us; a second settleRun finds `settled` and reuses it.
            ConditionExpression: 'settled = :false AND spentMicros = :spent AND inflightMicros = :inflight AND budgetMicros = :budget',
            UpdateExpression:
              'SET settled = :true, refundMicros = :refund, dayAdjustments = :adjustments, droppedCalls = calls, calls = :empty, inflightMicros = :zero, headroomMicros = :zero',
            ExpressionAttributeValues: {
              ':false': false,
              ':true': true,
              ':spent': item.spentMicros,
              ':inflight': item.inflightMicros,
              ':budget': item.budgetMicros,
              ':refund': refund,
              ':adjustments': adjustments,
              ':empty': {},
              ':zero': 0,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        item = StoredRunItem.parse(Attributes);
      } catch (error) {
        if (!isConditionFailure(error) || attempt >= maxSettleAttempts) throw error;
        item = await requireRunItem(runId);
      }
    }
    if (item.refundMicros === undefined) throw new LedgerInconsistencyError(`run ${runId} is settled without a refund amount`);
    // Step 2 of 2: return the refund to both days, each at most once (guarded by the run's marker),
    // so a crash between the steps is repaired by calling settleRun again.
    await refundOnDay(controlItemKey.requesterDay(item.requester, item.ledgerDay), runId, item.refundMicros, 'throw');
    await refundOnDay(controlItemKey.orgDay(item.ledgerDay), runId, item.refundMicros, 'throw');
    // And every adjustment recorded since (overspend, late calls and charges), each once per day.
    await applyDayAdjustments(item);
    return { refundedMicros: item.refundMicros, spentMicros: item.spentMicros };
  }

  /**
   * Adds an extension to the run's reservation on one day if the day's limit takes it, once per
   * extension (the day's `extensions` marker): false when the limit refuses it.
   */
  async function extendOnDay(pk: string, runId: string, key: string, micros: number, limit: number): Promise<boolean> {
    await doc.send(
      new UpdateCommand({
        TableName: tables.control,
        Key: { pk },
        ConditionExpression: 'attribute_exists(reservations.#run)',
        UpdateExpression: 'SET extensions = if_not_exists(extensions, :empty)',
        ExpressionAttributeNames: { '#run': runId },
        ExpressionAttributeValues: { ':empty': {} },
      }),
    );
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tables.control,
          Key: { pk },
          ConditionExpression: 'attribute_not_exists(extensions.#key) AND attribute_not_exists(refunds.#run) AND committedMicros <= :room',
          UpdateExpression: 'SET committedMicros = committedMicros + :micros, reservations.#run = reservations.#run + :micros, extensions.#key = :micros',
          ExpressionAttributeNames: { '#run': runId, '#key': key },
          ExpressionAttributeValues: { ':room': limit - micros, ':micros': micros },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const current = await getDayItem(pk);
    return (current as { extensions?: Record<string, number> } | undefined)?.extensions?.[key] === micros;
  }

  /** Takes an extension back off one day (the run could not take it after all). */
  async function undoExtensionOnDay(pk: string, runId: string, key: string, micros: number): Promise<void> {
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tables.control,
          Key: { pk },
          ConditionExpression: 'extensions.#key = :micros',
          UpdateExpression: 'SET committedMicros = committedMicros - :micros, reservations.#run = reservations.#run - :micros REMOVE extensions.#key',
          ExpressionAttributeNames: { '#run': runId, '#key': key },
          ExpressionAttributeValues: { ':micros': micros },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async function extendRun(input: { runId: string; extensionId: string; extraMicros: number; maxBudgetMicros: number; limits: DailyLimits }): Promise<{ budgetMicros: number }> {
    const runId = RunId.parse(input.runId);
    const extensionId = EntryId.parse(input.extensionId);
    const extra = Micros.positive().parse(input.extraMicros);
    const item = await requireRunItem(runId);
    if (item.extensions?.[extensionId] !== undefined) return { budgetMicros: item.budgetMicros };
    if (item.settled) throw new BudgetExtensionRefusedError(runId, 'it has ended');
    if (item.budgetMicros + extra > input.maxBudgetMicros) throw new BudgetExtensionRefusedError(runId, `its budget would be ${item.budgetMicros + extra} micro-USD, above budgets.maxPerRunUsd (${input.maxBudgetMicros})`);
    const key = `${runId}#${extensionId}`;
    const requesterKey = controlItemKey.requesterDay(item.requester, item.ledgerDay);
    const orgKey = controlItemKey.orgDay(item.ledgerDay);
    if (!(await extendOnDay(requesterKey, runId, key, extra, input.limits.requesterDailyMicros))) throw new BudgetRefusedError('requester', secondsUntilNextUtcDay(now()));
    if (!(await extendOnDay(orgKey, runId, key, extra, input.limits.orgDailyMicros))) {
      await undoExtensionOnDay(requesterKey, runId, key, extra);
      throw new BudgetRefusedError('org', secondsUntilNextUtcDay(now()));
    }
    await doc.send(
      new UpdateCommand({
        TableName: tables.runs,
        Key: { runId },
        ConditionExpression: 'attribute_exists(runId)',
        UpdateExpression: 'SET extensions = if_not_exists(extensions, :empty)',
        ExpressionAttributeValues: { ':empty': {} },
      }),
    );
    try {
      const { Attributes } = await doc.send(
        new UpdateCommand({
          TableName: tables.runs,
          Key: { runId },
          // Unsettled: settleRun pins the budget it refunds from, so the extension and the refund cannot cross.
          ConditionExpression: 'settled = :false AND attribute_not_exists(extensions.#ext)',
          UpdateExpression: 'SET budgetMicros = budgetMicros + :extra, headroomMicros = headroomMicros + :extra, extensions.#ext = :extra',
          ExpressionAttributeNames: { '#ext': extensionId },
          ExpressionAttributeValues: { ':false': false, ':extra': extra },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { budgetMicros: StoredRunItem.parse(Attributes).budgetMicros };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const after = await requireRunItem(runId);
    if (after.extensions?.[extensionId] !== undefined) return { budgetMicros: after.budgetMicros };
    // Settled meanwhile: its refund was computed without the extension, so the days must not keep it.
    await undoExtensionOnDay(orgKey, runId, key, extra);
    await undoExtensionOnDay(requesterKey, runId, key, extra);
    throw new BudgetExtensionRefusedError(runId, 'it has ended');
  }

  return { reserveRun, releaseRunReservation, reserveCall, settleCall, charge, settleRun, extendRun };
}
