import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
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
    const item = await requireRunItem(runId);
    if (item.settledCalls[callId] !== undefined) return; // settled before: counted once
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
    if (item.settled && item.droppedCalls?.[callId] !== undefined) {
      // The run ended while this call was in flight: its reservation went back with the refund, but
      // the real cost is still recorded against the run (once), so the run shows what it spent.
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tables.runs,
            Key: { runId },
            ConditionExpression: 'settled = :true AND attribute_exists(droppedCalls.#call) AND attribute_not_exists(settledCalls.#call)',
            UpdateExpression: `REMOVE droppedCalls.#call SET spentMicros = spentMicros + :actual, lateMicros = if_not_exists(lateMicros, :zero) + :actual, settledCalls.#call = :actual, ${tokens.expression}`,
            ExpressionAttributeNames: { '#call': callId, ...tokens.names },
            ExpressionAttributeValues: { ':true': true, ':actual': actualMicros, ':zero': 0, ...tokens.values },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const again = await requireRunItem(runId);
        if (again.settledCalls[callId] !== undefined) return;
        throw error;
      }
    }
    throw new CallNotReservedError(runId, callId);
  }

  async function charge(runId: string, chargeId: string, micros: number): Promise<void> {
    RunId.parse(runId);
    EntryId.parse(chargeId);
    Micros.parse(micros);
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tables.runs,
          Key: { runId },
          ConditionExpression: 'attribute_exists(runId) AND attribute_not_exists(charges.#charge)',
          UpdateExpression: 'SET charges.#charge = :micros, spentMicros = spentMicros + :micros, headroomMicros = headroomMicros - :micros',
          ExpressionAttributeNames: { '#charge': chargeId },
          ExpressionAttributeValues: { ':micros': micros },
        }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const item = await requireRunItem(runId);
    const previous = item.charges[chargeId];
    if (previous === micros) return; // charged before: counted once
    throw new LedgerInconsistencyError(`run ${runId} charge ${chargeId} was ${previous} micro-USD, now asked for ${micros}`);
  }

  async function settleRun(runId: string): Promise<{ refundedMicros: number; spentMicros: number }> {
    RunId.parse(runId);
    let item = await requireRunItem(runId);
    for (let attempt = 1; !item.settled; attempt += 1) {
      const refund = Math.max(0, item.budgetMicros - item.spentMicros);
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tables.runs,
            Key: { runId },
            // Step 1 of 2: decide the refund once. Pinning spentMicros keeps the refund exact while
            // settleCall or charge race with us; a second settleRun finds `settled` and reuses it.
            ConditionExpression: 'settled = :false AND spentMicros = :spent',
            UpdateExpression: 'SET settled = :true, refundMicros = :refund, droppedCalls = calls, calls = :empty, inflightMicros = :zero, headroomMicros = :zero',
            ExpressionAttributeValues: { ':false': false, ':true': true, ':spent': item.spentMicros, ':refund': refund, ':empty': {}, ':zero': 0 },
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
    return { refundedMicros: item.refundMicros, spentMicros: item.spentMicros };
  }

  return { reserveRun, releaseRunReservation, reserveCall, settleCall, charge, settleRun };
}
