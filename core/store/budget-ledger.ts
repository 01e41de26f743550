import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { BudgetExhaustedError, BudgetRefusedError, RunNotFoundError } from '../errors';
import { TokenUsage } from '../pricing';
import { RunId } from '../runs/schemas';
import type { BudgetLedgerPort, DailyLimits } from './ports';
import { createLedgerDays, isConditionFailure, LedgerInconsistencyError } from './ledger-day';
import { StoredRunItem, type StoredRunItem as RunItem } from './run-item';
import { controlItemKey } from './tables';

/**
 * The budget ledger, in integer micro-USD, as single-item conditional writes (no transactions, so it
 * runs on dynalite too). DynamoDB conditions cannot do arithmetic, so every limit is checked against
 * a counter kept in the same item: `headroomMicros` on the run, `committedMicros <= limit - amount`
 * (computed by the caller) on a day (core/store/ledger-day.ts, which keeps a day's item the same size
 * however many runs the day has). docs/data-model.md explains why each write is race-free.
 */

export { LedgerInconsistencyError };

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

/** Seconds until the next UTC midnight: when a refused submission can next fit a fresh day. */
export function secondsUntilNextUtcDay(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

type DayScope = 'requester' | 'org';
/** Post-settle calls and charges never carry `settle`, which settleRun moves with the reservation. */
const bothDays: ReadonlySet<DayScope> = new Set<DayScope>(['requester', 'org']);

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

  const days = createLedgerDays(doc, tables.control);

  /** The run's two days: what each is called on the run's `dayAdjustmentsApplied` markers, and its item key. */
  function runDays(item: { requester: string; ledgerDay: string }): Array<{ scope: DayScope; pk: string }> {
    return [
      { scope: 'requester', pk: controlItemKey.requesterDay(item.requester, item.ledgerDay) },
      { scope: 'org', pk: controlItemKey.orgDay(item.ledgerDay) },
    ];
  }

  /** Records on the run that one day counts one post-settle adjustment (ledger-day.ts `applyLate`, step 4). */
  async function markAdjustmentApplied(runId: string, marker: string): Promise<void> {
    await doc.send(
      new UpdateCommand({
        TableName: tables.runs,
        Key: { runId },
        ConditionExpression: 'settled = :true',
        UpdateExpression: 'SET dayAdjustmentsApplied = if_not_exists(dayAdjustmentsApplied, :empty)',
        ExpressionAttributeValues: { ':true': true, ':empty': {} },
      }),
    );
    await doc.send(
      new UpdateCommand({
        TableName: tables.runs,
        Key: { runId },
        UpdateExpression: 'SET dayAdjustmentsApplied.#marker = :true',
        ExpressionAttributeNames: { '#marker': marker },
        ExpressionAttributeValues: { ':true': true },
      }),
    );
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
          applied: async () => (await requireRunItem(item.runId)).dayAdjustmentsApplied?.[marker] === true,
          markApplied: () => markAdjustmentApplied(item.runId, marker),
        });
      }
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
    if (!(await days.reserve(requesterKey, day, runId, budgetMicros, limits.requesterDailyMicros))) {
      throw new BudgetRefusedError('requester', secondsUntilNextUtcDay(now()));
    }
    if (!(await days.reserve(orgKey, day, runId, budgetMicros, limits.orgDailyMicros))) {
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
      return applyDayAdjustments(item, { entry, settleFoldedOn: bothDays });
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
      return applyDayAdjustments(recorded, { entry, settleFoldedOn: bothDays });
    }
    throw new CallNotReservedError(runId, callId);
  }

  async function charge(runId: string, chargeId: string, micros: number): Promise<void> {
    RunId.parse(runId);
    EntryId.parse(chargeId);
    Micros.parse(micros);
    const entry = `charge:${chargeId}`;
    // Three rounds at most: the run can settle between the first write and the read after it; the next round decides again.
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
        return applyDayAdjustments(item, { entry, settleFoldedOn: bothDays });
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
        return applyDayAdjustments(StoredRunItem.parse(Attributes), { entry, settleFoldedOn: bothDays });
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
              'SET settled = :true, refundMicros = :refund, dayAdjustments = :adjustments, dayAdjustmentsApplied = :empty, droppedCalls = calls, calls = :empty, inflightMicros = :zero, headroomMicros = :zero',
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
    const onRequester = await days.extend(requesterKey, runId, key, extra, input.limits.requesterDailyMicros);
    if (onRequester === 'ended') throw new BudgetExtensionRefusedError(runId, 'it has ended');
    if (onRequester === 'refused') throw new BudgetRefusedError('requester', secondsUntilNextUtcDay(now()));
    const onOrg = await days.extend(orgKey, runId, key, extra, input.limits.orgDailyMicros);
    if (onOrg !== 'extended') {
      await days.undoExtension(requesterKey, runId, key, extra);
      if (onOrg === 'ended') throw new BudgetExtensionRefusedError(runId, 'it has ended');
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
    await days.undoExtension(orgKey, runId, key, extra);
    await days.undoExtension(requesterKey, runId, key, extra);
    throw new BudgetExtensionRefusedError(runId, 'it has ended');
  }

  return { reserveRun, releaseRunReservation, reserveCall, settleCall, charge, settleRun, extendRun };
}
