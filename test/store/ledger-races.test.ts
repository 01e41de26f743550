import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BudgetExhaustedError, BudgetRefusedError } from '../../core/errors';
import { CallNotReservedError, LedgerInconsistencyError } from '../../adapters/dynamodb';
import { BudgetExtensionRefusedError } from '../../adapters/dynamodb/budget-ledger';
import type { BudgetLedgerPort, DailyLimits, RunRecord } from '../../core/store/ports';
import { withDynalite } from '../support/dynalite';
import { daysOf, generousLimits as generous, ledgerItems, ledgersOver, usage } from '../support/ledger-items';
import { rejection } from '../support/rejection';
import type { CommandMatch, DynamoFaults } from '../support/dynamo-faults';
import { queuedRun } from './run-fixtures';

/**
 * The budget ledger under faults and races, against dynalite: a throttling fault on one write (never
 * swallowed, nothing half-written), and a competing writer just before a conditional write (the write
 * fails its condition, the ledger reads again and decides again). Every race test checks its
 * competing write actually ran (`fired`), so it cannot pass without the race.
 */

const clock = () => new Date('2030-01-02T23:59:00.000Z');
const maxBudgetMicros = 100_000_000;

describe('budget ledger under faults and races', () => {
  const db = withDynalite();
  const { dayItem, committed, rawRun, editRun } = ledgerItems(db);
  /** `competitor()`: the ledger the competing writer uses, straight on dynalite, never faulted. */
  const { real: competitor, faulty, submitted } = ledgersOver(db, clock);

  const conditionHas = (fragment: string) => (input: Record<string, unknown>) => String(input.ConditionExpression ?? '').includes(fragment);
  const onDay = (pk: string, fragment: string): CommandMatch => ({
    command: UpdateCommand,
    table: db.names.control,
    key: { pk },
    where: conditionHas(fragment),
  });
  const onRun = (runId: string, fragment: string): CommandMatch => ({
    command: UpdateCommand,
    table: db.names.runs,
    key: { runId },
    where: conditionHas(fragment),
  });
  const reserveOnDay = (pk: string) => onDay(pk, 'attribute_not_exists(reservations.#run)');
  const endOnDay = (pk: string) => onDay(pk, 'reservations.#run = :reserved');
  const settleOnRun = (runId: string) => onRun(runId, 'spentMicros = :spent');

  /** What money the run and its two days hold: equal before and after a failed move when nothing was half-written. */
  async function money(run: RunRecord): Promise<Record<string, unknown>> {
    const item = await rawRun(run.runId);
    const day = async (pk: string) => {
      const found = await dayItem(pk);
      return {
        committed: found?.committedMicros ?? 0,
        reservation: (found?.reservations as Record<string, number> | undefined)?.[run.runId],
        extensions: found?.extensions ?? {},
        late: found?.late ?? {},
      };
    };
    const { requester, org } = daysOf(run);
    return {
      run: {
        budget: item.budgetMicros,
        spent: item.spentMicros,
        inflight: item.inflightMicros,
        headroom: item.headroomMicros,
        settled: item.settled,
        refund: item.refundMicros,
        calls: item.calls,
        settledCalls: item.settledCalls,
        droppedCalls: item.droppedCalls,
        charges: item.charges,
        extensions: item.extensions ?? {},
        dayAdjustments: item.dayAdjustments,
        applied: item.dayAdjustmentsApplied,
      },
      requesterDay: await day(requester),
      orgDay: await day(org),
    };
  }

  const reserveOf = (run: RunRecord, limits: DailyLimits = generous) => ({
    runId: run.runId,
    requester: run.requester,
    day: run.ledgerDay,
    budgetMicros: run.budgetMicros,
    limits,
  });

  describe('a fault that is not a failed condition propagates and leaves nothing half-written', () => {
    it('Given a throttled write on the requester day, When a run is reserved, Then the throttle is thrown and neither day holds the run', async () => {
      const run = queuedRun({ requester: 'fault-1', ledgerDay: '2032-01-01', budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      const throttle = faults.throttle(reserveOnDay(daysOf(run).requester));
      await expect(ledger.reserveRun(reserveOf(run))).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(throttle.fired).toBe(1);
      expect(await committed(daysOf(run).requester)).toBe(0);
      expect(await committed(daysOf(run).org)).toBe(0);
    });

    it('Given the requester day reserved and a throttled write on the org day, When the run is reserved, Then the throttle is thrown and the requester day gives the reservation back', async () => {
      const day = '2032-01-02';
      await submitted({ requester: 'fault-2', ledgerDay: day, budgetMicros: 300_000 });
      const run = queuedRun({ requester: 'fault-2', ledgerDay: day, budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      const throttle = faults.throttle(reserveOnDay(daysOf(run).org));
      await expect(ledger.reserveRun(reserveOf(run))).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(throttle.fired).toBe(1);
      expect(await committed(daysOf(run).requester)).toBe(300_000);
      expect((await dayItem(daysOf(run).requester))?.reservations).not.toHaveProperty(run.runId);
      expect(await committed(daysOf(run).org)).toBe(300_000);
    });

    it('Given a throttled write on the org day, When a reservation is released, Then the throttle is thrown, neither day moved, and a retry releases it once', async () => {
      const run = queuedRun({ requester: 'fault-3', ledgerDay: '2032-01-03', budgetMicros: 1_000_000 });
      await competitor().reserveRun(reserveOf(run));
      const { ledger, faults } = faulty();
      faults.throttle(endOnDay(daysOf(run).org));
      const release = { runId: run.runId, requester: run.requester, day: run.ledgerDay, budgetMicros: run.budgetMicros };
      await expect(ledger.releaseRunReservation(release)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(await committed(daysOf(run).requester)).toBe(1_000_000);
      expect(await committed(daysOf(run).org)).toBe(1_000_000);
      await ledger.releaseRunReservation(release);
      await ledger.releaseRunReservation(release);
      expect(await committed(daysOf(run).requester)).toBe(0);
      expect(await committed(daysOf(run).org)).toBe(0);
    });

    type Case = {
      name: string;
      prepare: (run: RunRecord) => Promise<void>;
      fault: (run: RunRecord) => CommandMatch;
      move: (ledger: BudgetLedgerPort, run: RunRecord) => Promise<unknown>;
    };
    const cases: Case[] = [
      {
        name: 'reserveCall on the run',
        prepare: async () => {},
        fault: (run) => onRun(run.runId, 'attribute_not_exists(calls.#call)'),
        move: (ledger, run) => ledger.reserveCall(run.runId, 'c1', 10_000),
      },
      {
        name: 'settleCall on an active run',
        prepare: (run) => competitor().reserveCall(run.runId, 'c1', 10_000),
        fault: (run) => onRun(run.runId, 'calls.#call = :reserved'),
        move: (ledger, run) => ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1)),
      },
      {
        name: 'settleCall of a call dropped at settle',
        prepare: async (run) => {
          await competitor().reserveCall(run.runId, 'c1', 10_000);
          await competitor().settleRun(run.runId);
        },
        fault: (run) => onRun(run.runId, 'droppedCalls.#call = :dropped'),
        move: (ledger, run) => ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1)),
      },
      {
        name: 'charge on an active run',
        prepare: async () => {},
        fault: (run) => onRun(run.runId, 'settled = :false AND attribute_not_exists(charges.#charge)'),
        move: (ledger, run) => ledger.charge(run.runId, 'compute', 5_000),
      },
      {
        name: 'charge after the run settled',
        prepare: async (run) => {
          await competitor().settleRun(run.runId);
        },
        fault: (run) => onRun(run.runId, 'settled = :true AND attribute_not_exists(charges.#charge)'),
        move: (ledger, run) => ledger.charge(run.runId, 'compute', 5_000),
      },
      {
        name: 'settleRun on the run',
        prepare: async () => {},
        fault: (run) => settleOnRun(run.runId),
        move: (ledger, run) => ledger.settleRun(run.runId),
      },
      {
        name: 'extendRun on the requester day',
        prepare: async () => {},
        fault: (run) => onDay(daysOf(run).requester, 'attribute_not_exists(extensions.#key)'),
        move: (ledger, run) =>
          ledger.extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 50_000, maxBudgetMicros, limits: generous }),
      },
      {
        name: 'extendRun making the requester day ready',
        prepare: async () => {},
        fault: (run) => ({
          command: UpdateCommand,
          table: db.names.control,
          key: { pk: daysOf(run).requester },
          where: (input) => input.ConditionExpression === 'attribute_exists(reservations.#run)',
        }),
        move: (ledger, run) =>
          ledger.extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 50_000, maxBudgetMicros, limits: generous }),
      },
    ];

    it.each(cases)(
      'Given a throttled write in $name, When the move is made, Then the throttle is thrown and the money the run and its days hold is unchanged',
      async ({ prepare, fault, move }) => {
        const run = await submitted({ requester: 'fault-table', ledgerDay: '2032-01-04', budgetMicros: 1_000_000 });
        await prepare(run);
        const before = await money(run);
        const { ledger, faults } = faulty();
        const throttle = faults.throttle(fault(run));
        const failure = await rejection(move(ledger, run));
        expect(failure).toBeInstanceOf(ProvisionedThroughputExceededException);
        expect(throttle.fired).toBe(1);
        expect(await money(run)).toEqual(before);
      },
    );

    it('Given a dropped call whose late cost is throttled on the requester day, When it is settled again, Then the run counts it once and each day moves by real minus worst case once', async () => {
      const run = await submitted({ requester: 'fault-7', ledgerDay: '2032-01-08', budgetMicros: 1_000_000 });
      await competitor().reserveCall(run.runId, 'c1', 10_000);
      await competitor().settleRun(run.runId);
      const { ledger, faults } = faulty();
      faults.throttle(onDay(daysOf(run).requester, 'lateSeq = :seq'));
      await expect(ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1))).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      // Step 1 (the run) is done, the days are not: they still hold the worst case.
      expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 7_000, settledCalls: { c1: 7_000 } });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(10_000);
      await ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1));
      await ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1));
      expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 7_000, tokens: usage(1, 1) });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(7_000);
    });

    it('Given an extension throttled on the run after both days took it, When it is retried, Then the run and both days count it once', async () => {
      const run = await submitted({ requester: 'fault-8', ledgerDay: '2032-01-09', budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      faults.throttle(onRun(run.runId, 'attribute_not_exists(extensions.#ext)'));
      const extension = { runId: run.runId, extensionId: 'X1', extraMicros: 50_000, maxBudgetMicros, limits: generous };
      await expect(ledger.extendRun(extension)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(await rawRun(run.runId)).toMatchObject({ budgetMicros: 1_000_000 });
      await expect(ledger.extendRun(extension)).resolves.toEqual({ budgetMicros: 1_050_000 });
      await expect(ledger.extendRun(extension)).resolves.toEqual({ budgetMicros: 1_050_000 });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(1_050_000);
      await ledger.settleRun(run.runId);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(0);
    });

    it('Given an extension whose org day write is throttled, When it is extended, Then the throttle is thrown and the requester day gives the extension back', async () => {
      const run = await submitted({ requester: 'fault-4', ledgerDay: '2032-01-05', budgetMicros: 1_000_000 });
      const before = await money(run);
      const { ledger, faults } = faulty();
      faults.throttle(onDay(daysOf(run).org, 'attribute_not_exists(extensions.#key)'));
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 50_000, maxBudgetMicros, limits: generous }),
      ).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      // The requester day took the extension and keeps it until the run settles (extendRun stopped after the days); the run did not.
      expect((await money(run)).run).toEqual(before.run);
      await ledger.settleRun(run.runId);
      expect(await committed(daysOf(run).requester)).toBe(0);
      expect(await committed(daysOf(run).org)).toBe(0);
    });

    it('Given settleRun throttled on the org day after the requester day ended, When it is called again, Then each day is refunded exactly once', async () => {
      const run = await submitted({ requester: 'fault-5', ledgerDay: '2032-01-06', budgetMicros: 1_000_000 });
      await competitor().charge(run.runId, 'compute', 250_000);
      const { ledger, faults } = faulty();
      faults.throttle(endOnDay(daysOf(run).org));
      await expect(ledger.settleRun(run.runId)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(await committed(daysOf(run).requester)).toBe(250_000);
      expect(await committed(daysOf(run).org)).toBe(1_000_000);
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 750_000, spentMicros: 250_000 });
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 750_000, spentMicros: 250_000 });
      expect(await committed(daysOf(run).requester)).toBe(250_000);
      expect(await committed(daysOf(run).org)).toBe(250_000);
    });

    it('Given a late charge whose marker cleanup is throttled, When it is charged again, Then each day counts it once and no marker is left', async () => {
      const run = await submitted({ requester: 'fault-6', ledgerDay: '2032-01-07', budgetMicros: 1_000_000 });
      await competitor().settleRun(run.runId);
      const { ledger, faults } = faulty();
      faults.throttle(onDay(daysOf(run).org, 'late.#key = :micros'));
      await expect(ledger.charge(run.runId, 'compute', 40_000)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      await ledger.charge(run.runId, 'compute', 40_000);
      await ledger.charge(run.runId, 'compute', 40_000);
      for (const pk of Object.values(daysOf(run))) {
        expect(await committed(pk)).toBe(40_000);
        expect((await dayItem(pk))?.late).toEqual({});
      }
    });
  });

  describe('reserving a run on its days', () => {
    it('Given a budget exactly equal to both day limits, When it is reserved on a fresh day, Then it is reserved; one micro-USD more on that day is refused', async () => {
      const day = '2032-02-01';
      const limits = { requesterDailyMicros: 2_000_000, orgDailyMicros: 2_000_000 };
      const run = queuedRun({ requester: 'exact-1', ledgerDay: day, budgetMicros: 2_000_000 });
      await competitor().reserveRun(reserveOf(run, limits));
      expect(await committed(daysOf(run).requester)).toBe(2_000_000);
      expect(await committed(daysOf(run).org)).toBe(2_000_000);
      const more = queuedRun({ requester: 'exact-2', ledgerDay: day, budgetMicros: 1 });
      await expect(competitor().reserveRun(reserveOf(more, limits))).rejects.toMatchObject({ name: BudgetRefusedError.name, scope: 'org' });
      expect(await committed(daysOf(run).org)).toBe(2_000_000);
      expect(await committed(daysOf(more).requester)).toBe(0);
    });

    it('Given a day with some committed, When a budget that exactly fills the rest is reserved, Then it is reserved', async () => {
      const day = '2032-02-02';
      const limits = { requesterDailyMicros: 5_000_000, orgDailyMicros: 3_000_000 };
      await submitted({ requester: 'fill-1', ledgerDay: day, budgetMicros: 1_200_000 }, limits);
      const run = queuedRun({ requester: 'fill-2', ledgerDay: day, budgetMicros: 1_800_000 });
      await competitor().reserveRun(reserveOf(run, limits));
      expect(await committed(daysOf(run).org)).toBe(3_000_000);
    });

    it('Given a budget above the day limit, When it is reserved, Then it is refused without writing the day', async () => {
      const run = queuedRun({ requester: 'over-1', ledgerDay: '2032-02-03', budgetMicros: 2_000_001 });
      await expect(
        competitor().reserveRun(reserveOf(run, { requesterDailyMicros: 2_000_000, orgDailyMicros: 100_000_000 })),
      ).rejects.toMatchObject({ scope: 'requester' });
      expect(await dayItem(daysOf(run).requester)).toBeUndefined();
      expect(await dayItem(daysOf(run).org)).toBeUndefined();
    });

    it('Given a run reserved on its day, When the same submit is retried (even on a day now full), Then it is accepted and counted once', async () => {
      const day = '2032-02-04';
      const limits = { requesterDailyMicros: 1_000_000, orgDailyMicros: 1_000_000 };
      const run = queuedRun({ requester: 'retry-1', ledgerDay: day, budgetMicros: 1_000_000 });
      await competitor().reserveRun(reserveOf(run, limits));
      await competitor().reserveRun(reserveOf(run, limits));
      await competitor().reserveRun(reserveOf(run, generous));
      expect(await committed(daysOf(run).requester)).toBe(1_000_000);
      expect(await committed(daysOf(run).org)).toBe(1_000_000);
      expect((await dayItem(daysOf(run).org))?.reservations).toEqual({ [run.runId]: 1_000_000 });
    });

    it('Given a run reserved on its day, When it is retried with another budget, Then the ledger refuses to guess (LedgerInconsistencyError) and nothing moves', async () => {
      const run = queuedRun({ requester: 'retry-2', ledgerDay: '2032-02-05', budgetMicros: 1_000_000 });
      await competitor().reserveRun(reserveOf(run));
      const error = await rejection(competitor().reserveRun({ ...reserveOf(run), budgetMicros: 900_000 }));
      expect(error).toBeInstanceOf(LedgerInconsistencyError);
      expect(String(error)).toContain('different or finished reservation');
      expect(await committed(daysOf(run).requester)).toBe(1_000_000);
      expect(await committed(daysOf(run).org)).toBe(1_000_000);
    });

    it('Given a run the previous format refunded on its day (its `refunds` marker kept), When it is reserved again, Then it is never reserved twice: the ledger refuses to guess, even with room left', async () => {
      const run = queuedRun({ requester: 'refunded-1', ledgerDay: '2032-02-06', budgetMicros: 1_000_000 });
      for (const pk of Object.values(daysOf(run))) {
        await db.doc.send(
          new UpdateCommand({
            TableName: db.names.control,
            Key: { pk },
            UpdateExpression: 'SET committedMicros = :spent, reservations = :none, refunds = :refunds',
            ExpressionAttributeValues: { ':spent': 400_000, ':none': {}, ':refunds': { [run.runId]: 600_000 } },
          }),
        );
      }
      for (const limits of [generous, { requesterDailyMicros: 1_200_000, orgDailyMicros: 1_200_000 }]) {
        const error = await rejection(competitor().reserveRun(reserveOf(run, limits)));
        expect(error).toBeInstanceOf(LedgerInconsistencyError);
        expect(String(error)).toContain('different or finished reservation');
      }
      expect(await committed(daysOf(run).requester)).toBe(400_000);
      expect(await committed(daysOf(run).org)).toBe(400_000);
    });

    it('Given a fresh day, When another submission creates the day between the failed first write and the read, Then the run reads again, decides again and is reserved', async () => {
      const day = '2032-02-07';
      const limits = { requesterDailyMicros: 10_000_000, orgDailyMicros: 3_000_000 };
      const other = queuedRun({ requester: 'race-0', ledgerDay: day, budgetMicros: 1_000_000 });
      const run = queuedRun({ requester: 'race-1', ledgerDay: day, budgetMicros: 2_000_000 });
      const { ledger, faults } = faulty();
      const race = faults.before({ command: GetCommand, table: db.names.control, key: { pk: daysOf(run).org } }, () =>
        competitor().reserveRun(reserveOf(other, limits)),
      );
      await ledger.reserveRun(reserveOf(run, limits));
      expect(race.fired).toBe(1);
      expect(await committed(daysOf(run).org)).toBe(3_000_000);
      expect((await dayItem(daysOf(run).org))?.reservations).toEqual({ [other.runId]: 1_000_000, [run.runId]: 2_000_000 });
    });

    it('Given a fresh day, When another submission fills it between the read and the write that follows, Then the run is refused by the org day and the requester day gives it back', async () => {
      const day = '2032-02-08';
      const limits = { requesterDailyMicros: 10_000_000, orgDailyMicros: 3_000_000 };
      const other = queuedRun({ requester: 'race-2', ledgerDay: day, budgetMicros: 2_500_000 });
      const run = queuedRun({ requester: 'race-3', ledgerDay: day, budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      // The first reserve write finds no day item; the second, after the day is created, finds it full.
      const race = faults.before(reserveOnDay(daysOf(run).org), () => competitor().reserveRun(reserveOf(other, limits)), { nth: 2 });
      await expect(ledger.reserveRun(reserveOf(run, limits))).rejects.toMatchObject({ name: BudgetRefusedError.name, scope: 'org' });
      expect(race.fired).toBe(1);
      expect(await committed(daysOf(run).org)).toBe(2_500_000);
      expect(await committed(daysOf(run).requester)).toBe(0);
    });

    it('Given a day with room, When another submission takes all but exactly the run budget just before its write, Then the run is still reserved; when it takes one micro-USD more, the run is refused', async () => {
      const limits = { requesterDailyMicros: 10_000_000, orgDailyMicros: 3_000_000 };
      for (const [day, taken, accepted] of [
        ['2032-02-09', 2_000_000, true],
        ['2032-02-10', 2_000_001, false],
      ] as const) {
        await submitted({ requester: 'room-0', ledgerDay: day, budgetMicros: 1 }, limits);
        const other = queuedRun({ requester: 'room-1', ledgerDay: day, budgetMicros: taken - 1 });
        const run = queuedRun({ requester: 'room-2', ledgerDay: day, budgetMicros: 1_000_000 });
        const { ledger, faults } = faulty();
        const race = faults.before(reserveOnDay(daysOf(run).org), () => competitor().reserveRun(reserveOf(other, limits)));
        const reserving = ledger.reserveRun(reserveOf(run, limits));
        if (accepted) await reserving;
        else await expect(reserving).rejects.toMatchObject({ scope: 'org' });
        expect(race.fired).toBe(1);
        expect(await committed(daysOf(run).org)).toBe(accepted ? 3_000_000 : taken);
      }
    });
  });

  describe('settling a run while others write', () => {
    it('Given settleRun, When a charge lands between its read and its write, Then its retry pins the new spend and refunds exactly the rest', async () => {
      const run = await submitted({ requester: 'settle-1', ledgerDay: '2032-03-01', budgetMicros: 1_000_000 });
      await competitor().charge(run.runId, 'compute-1', 100_000);
      const { ledger, faults } = faulty();
      const race = faults.before(settleOnRun(run.runId), () => competitor().charge(run.runId, 'compute-2', 300_000));
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 600_000, spentMicros: 400_000 });
      expect(race.fired).toBe(1);
      expect(faults.sentCount(settleOnRun(run.runId))).toBe(2);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(400_000);
    });

    it('Given settleRun, When a call is reserved between its read and its write, Then the call keeps its worst case on the days until it settles late at its real cost', async () => {
      const run = await submitted({ requester: 'settle-2', ledgerDay: '2032-03-02', budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      const race = faults.before(settleOnRun(run.runId), () => competitor().reserveCall(run.runId, 'c1', 200_000));
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 800_000, spentMicros: 0 });
      expect(race.fired).toBe(1);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(200_000);
      await competitor().settleCall(run.runId, 'c1', 50_000, usage(1, 1));
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(50_000);
    });

    it('Given settleRun, When an extension lands between its read and its write, Then the refund includes the extension and the days end at what was spent', async () => {
      const run = await submitted({ requester: 'settle-3', ledgerDay: '2032-03-03', budgetMicros: 1_000_000 });
      await competitor().charge(run.runId, 'compute', 100_000);
      const { ledger, faults } = faulty();
      const race = faults.before(settleOnRun(run.runId), async () => {
        await competitor().extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 500_000, maxBudgetMicros, limits: generous });
      });
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 1_400_000, spentMicros: 100_000 });
      expect(race.fired).toBe(1);
      for (const pk of Object.values(daysOf(run))) {
        expect(await committed(pk)).toBe(100_000);
        expect((await dayItem(pk))?.extensions).toEqual({});
      }
    });

    it('Given settleRun, When another settleRun wins between its read and its write, Then it answers the winner`s refund and each day is refunded once', async () => {
      const run = await submitted({ requester: 'settle-4', ledgerDay: '2032-03-04', budgetMicros: 1_000_000 });
      await competitor().charge(run.runId, 'compute', 300_000);
      const { ledger, faults } = faulty();
      const race = faults.before(settleOnRun(run.runId), async () => {
        await competitor().settleRun(run.runId);
      });
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 700_000, spentMicros: 300_000 });
      expect(race.fired).toBe(1);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(300_000);
    });

    it('Given settleRun between its two steps, When another settleRun ends the org day first, Then the org day is refunded once', async () => {
      const run = await submitted({ requester: 'settle-5', ledgerDay: '2032-03-05', budgetMicros: 1_000_000 });
      await competitor().charge(run.runId, 'compute', 300_000);
      const { ledger, faults } = faulty();
      const race = faults.before(endOnDay(daysOf(run).org), async () => {
        await competitor().settleRun(run.runId);
      });
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 700_000, spentMicros: 300_000 });
      expect(race.fired).toBe(1);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(300_000);
    });

    it('Given a day the previous version refunded (its `refunds` marker) just before this settle writes it, When the run settles, Then the day is refunded once and its overspend comes through the adjustments, once', async () => {
      const run = await submitted({ requester: 'settle-6', ledgerDay: '2032-03-06', budgetMicros: 100_000 });
      await competitor().charge(run.runId, 'compute', 150_000);
      const org = daysOf(run).org;
      const { ledger, faults } = faulty();
      // What the previous version's settle wrote: the refund (0: it overspent) with its kept marker.
      const race = faults.before(endOnDay(org), async (real) => {
        await real.send(
          new UpdateCommand({
            TableName: db.names.control,
            Key: { pk: org },
            UpdateExpression: 'SET refunds = :refunds',
            ExpressionAttributeValues: { ':refunds': { [run.runId]: 0 } },
          }),
        );
      });
      await ledger.settleRun(run.runId);
      await ledger.settleRun(run.runId);
      expect(race.fired).toBe(1);
      expect(await committed(daysOf(run).requester)).toBe(150_000);
      expect(await committed(org)).toBe(150_000);
    });

    it('Given a charge, When the run settles between its first write and its read, Then the charge is counted on the run and on each day once', async () => {
      const run = await submitted({ requester: 'settle-7', ledgerDay: '2032-03-07', budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      const race = faults.before(onRun(run.runId, 'settled = :false AND attribute_not_exists(charges.#charge)'), async () => {
        await competitor().settleRun(run.runId);
      });
      await ledger.charge(run.runId, 'compute', 80_000);
      expect(race.fired).toBe(1);
      expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 80_000, charges: { compute: 80_000 } });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(80_000);
    });

    it('Given a late charge, When the same charge is recorded by another writer just before its write, Then it is counted once', async () => {
      const run = await submitted({ requester: 'settle-8', ledgerDay: '2032-03-08', budgetMicros: 1_000_000 });
      await competitor().settleRun(run.runId);
      const { ledger, faults } = faulty();
      const race = faults.before(onRun(run.runId, 'settled = :true AND attribute_not_exists(charges.#charge)'), async () => {
        await competitor().charge(run.runId, 'compute', 80_000);
      });
      await ledger.charge(run.runId, 'compute', 80_000);
      expect(race.fired).toBe(1);
      expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 80_000 });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(80_000);
    });

    it('Given a call settling, When the run settles just before its write, Then the call is counted late at its real cost on each day, once', async () => {
      const run = await submitted({ requester: 'settle-9', ledgerDay: '2032-03-09', budgetMicros: 1_000_000 });
      await competitor().reserveCall(run.runId, 'c1', 200_000);
      const { ledger, faults } = faulty();
      const race = faults.before(onRun(run.runId, 'calls.#call = :reserved'), async () => {
        await competitor().settleRun(run.runId);
      });
      await ledger.settleCall(run.runId, 'c1', 120_000, usage(2, 3));
      expect(race.fired).toBe(1);
      expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 120_000, settledCalls: { c1: 120_000 }, tokens: usage(2, 3) });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(120_000);
    });

    it('Given a dropped call settling late, When another writer settles it just before its write, Then it is counted once', async () => {
      const run = await submitted({ requester: 'settle-10', ledgerDay: '2032-03-10', budgetMicros: 1_000_000 });
      await competitor().reserveCall(run.runId, 'c1', 200_000);
      await competitor().settleRun(run.runId);
      const { ledger, faults } = faulty();
      const race = faults.before(onRun(run.runId, 'droppedCalls.#call = :dropped'), async () => {
        await competitor().settleCall(run.runId, 'c1', 120_000, usage(2, 3));
      });
      await ledger.settleCall(run.runId, 'c1', 120_000, usage(2, 3));
      expect(race.fired).toBe(1);
      expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 120_000, tokens: usage(2, 3) });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(120_000);
    });

    it('Given a call being reserved, When the run settles just before its write, Then the reservation is refused with no headroom and nothing is held', async () => {
      const run = await submitted({ requester: 'settle-11', ledgerDay: '2032-03-11', budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      const race = faults.before(onRun(run.runId, 'attribute_not_exists(calls.#call)'), async () => {
        await competitor().settleRun(run.runId);
      });
      await expect(ledger.reserveCall(run.runId, 'c1', 10_000)).rejects.toMatchObject({
        name: BudgetExhaustedError.name,
        availableMicros: 0,
        neededMicros: 10_000,
      });
      expect(race.fired).toBe(1);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(0);
    });

    it('Given an extension, When the run settles between the days taking it and the run taking it, Then it is refused as ended and both days give it back', async () => {
      const run = await submitted({ requester: 'settle-12', ledgerDay: '2032-03-12', budgetMicros: 1_000_000 });
      await competitor().charge(run.runId, 'compute', 100_000);
      const { ledger, faults } = faulty();
      const race = faults.before(onRun(run.runId, 'attribute_not_exists(extensions.#ext)'), async () => {
        await competitor().settleRun(run.runId);
      });
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 500_000, maxBudgetMicros, limits: generous }),
      ).rejects.toThrow(new BudgetExtensionRefusedError(run.runId, 'it has ended'));
      expect(race.fired).toBe(1);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(100_000);
    });

    it('Given an extension, When the run settles before the org day takes it, Then it is refused as ended and the requester day gives it back', async () => {
      const run = await submitted({ requester: 'settle-13', ledgerDay: '2032-03-13', budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      const race = faults.before(onDay(daysOf(run).org, 'attribute_not_exists(extensions.#key)'), async () => {
        await competitor().settleRun(run.runId);
      });
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 500_000, maxBudgetMicros, limits: generous }),
      ).rejects.toThrow(new BudgetExtensionRefusedError(run.runId, 'it has ended'));
      expect(race.fired).toBe(1);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(0);
    });
    it('Given a run that took two extensions, When it settles, Then both leave each day with its reservation', async () => {
      const run = await submitted({ requester: 'settle-14', ledgerDay: '2032-03-14', budgetMicros: 1_000_000 });
      for (const extensionId of ['X1', 'X2'])
        await competitor().extendRun({ runId: run.runId, extensionId, extraMicros: 100_000, maxBudgetMicros, limits: generous });
      await competitor().charge(run.runId, 'compute', 50_000);
      await expect(competitor().settleRun(run.runId)).resolves.toEqual({ refundedMicros: 1_150_000, spentMicros: 50_000 });
      for (const pk of Object.values(daysOf(run))) {
        expect(await committed(pk)).toBe(50_000);
        expect(await dayItem(pk)).toMatchObject({ reservations: {}, extensions: {} });
      }
    });

    it('Given a run that took one extension and left another on its days only, on a day where another run holds an extension too, When it settles, Then only its stray extension is given back and the other run keeps its own', async () => {
      const day = '2032-03-15';
      const other = await submitted({ requester: 'settle-15', ledgerDay: day, budgetMicros: 500_000 });
      await competitor().extendRun({ runId: other.runId, extensionId: 'X1', extraMicros: 70_000, maxBudgetMicros, limits: generous });
      const run = await submitted({ requester: 'settle-15', ledgerDay: day, budgetMicros: 1_000_000 });
      await competitor().extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 100_000, maxBudgetMicros, limits: generous });
      const { ledger, faults } = faulty();
      faults.throttle(onRun(run.runId, 'attribute_not_exists(extensions.#ext)'));
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'X2', extraMicros: 200_000, maxBudgetMicros, limits: generous }),
      ).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 1_100_000, spentMicros: 0 });
      for (const pk of Object.values(daysOf(run))) {
        expect(await committed(pk)).toBe(570_000);
        expect(await dayItem(pk)).toMatchObject({
          reservations: { [other.runId]: 570_000 },
          extensions: { [`${other.runId}#X1`]: 70_000 },
        });
      }
    });

    it('Given a day whose reservation for a run disagrees with the run and no stray extension explains it, When the run settles, Then the ledger refuses to guess and the day is left as it was', async () => {
      const run = await submitted({ requester: 'settle-16', ledgerDay: '2032-03-16', budgetMicros: 1_000_000 });
      const org = daysOf(run).org;
      await db.doc.send(
        new UpdateCommand({
          TableName: db.names.control,
          Key: { pk: org },
          UpdateExpression: 'SET reservations.#run = :other',
          ExpressionAttributeNames: { '#run': run.runId },
          ExpressionAttributeValues: { ':other': 1_000_001 },
        }),
      );
      const error = await rejection(competitor().settleRun(run.runId));
      expect(error).toBeInstanceOf(LedgerInconsistencyError);
      expect(String(error)).toContain(`run ${run.runId} holds 1000001 micro-USD on ${org}, its run says 1000000`);
      expect(await committed(org)).toBe(1_000_000);
    });
  });

  describe('the run side of the ledger (adapters/dynamodb/ledger-run.ts)', () => {
    it('Given a call reserved and settled, When it is reserved again (a retried request), Then it is accepted as reserved before and nothing more is held', async () => {
      const run = await submitted({ requester: 'run-side-1', ledgerDay: '2032-04-01', budgetMicros: 1_000_000 });
      const ledger = competitor();
      await ledger.reserveCall(run.runId, 'c1', 300_000);
      await ledger.settleCall(run.runId, 'c1', 100_000, usage(1, 1));
      await expect(ledger.reserveCall(run.runId, 'c1', 300_000)).resolves.toBeUndefined();
      expect(await rawRun(run.runId)).toMatchObject({ inflightMicros: 0, headroomMicros: 900_000, spentMicros: 100_000, calls: {} });
    });

    it('Given a run with some headroom, When a call dearer than it is reserved, Then it is refused with the headroom as what is available; When the run spent beyond its budget, Then the available amount is 0, never negative', async () => {
      const run = await submitted({ requester: 'run-side-2', ledgerDay: '2032-04-02', budgetMicros: 1_000_000 });
      const ledger = competitor();
      await ledger.reserveCall(run.runId, 'c1', 900_000);
      await expect(ledger.reserveCall(run.runId, 'c2', 200_000)).rejects.toMatchObject({
        name: BudgetExhaustedError.name,
        neededMicros: 200_000,
        availableMicros: 100_000,
      });
      await ledger.charge(run.runId, 'compute', 300_000);
      expect(await rawRun(run.runId)).toMatchObject({ headroomMicros: -200_000 });
      await expect(ledger.reserveCall(run.runId, 'c3', 1)).rejects.toMatchObject({ name: BudgetExhaustedError.name, availableMicros: 0 });
    });

    it('Given a run that spent exactly its budget, When it settles, Then nothing is refunded and the run records no overspend for its days', async () => {
      const run = await submitted({ requester: 'run-side-3', ledgerDay: '2032-04-03', budgetMicros: 500_000 });
      const ledger = competitor();
      await ledger.charge(run.runId, 'compute', 500_000);
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 0, spentMicros: 500_000 });
      const settled = await rawRun(run.runId);
      expect(settled).toMatchObject({ settled: true, refundMicros: 0 });
      expect(settled.dayAdjustments).toEqual({});
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(500_000);
    });

    it('Given settleRun, When a competing charge lands before each of its 20 writes, Then it gives up with the failed condition, the run is unsettled and its days untouched; with 19, its 20th write settles it', async () => {
      const run = await submitted({ requester: 'run-side-4', ledgerDay: '2032-04-04', budgetMicros: 1_000_000 });
      const raceEach = (faults: DynamoFaults, times: number, prefix: string) =>
        Array.from({ length: times }, (_, i) =>
          faults.before(settleOnRun(run.runId), () => competitor().charge(run.runId, `${prefix}-${i}`, 1_000), { nth: i + 1 }),
        );
      const first = faulty();
      const races = raceEach(first.faults, 20, 'a');
      const failure = await rejection(first.ledger.settleRun(run.runId));
      expect(failure).toMatchObject({ name: 'ConditionalCheckFailedException' });
      expect(races.every((race) => race.fired === 1)).toBe(true);
      expect(first.faults.sentCount(settleOnRun(run.runId))).toBe(20);
      expect(await rawRun(run.runId)).toMatchObject({ settled: false, spentMicros: 20_000 });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(1_000_000);
      const second = faulty();
      raceEach(second.faults, 19, 'b');
      await expect(second.ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 961_000, spentMicros: 39_000 });
      expect(second.faults.sentCount(settleOnRun(run.runId))).toBe(20);
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(39_000);
    });

    it('Given an extension, When another writer takes the same extension on the run just before its write, Then it answers the extended budget and the run and both days count the extension once', async () => {
      const run = await submitted({ requester: 'run-side-5', ledgerDay: '2032-04-05', budgetMicros: 1_000_000 });
      const extension = { runId: run.runId, extensionId: 'X1', extraMicros: 50_000, maxBudgetMicros, limits: generous };
      const { ledger, faults } = faulty();
      const race = faults.before(onRun(run.runId, 'attribute_not_exists(extensions.#ext)'), async () => {
        await competitor().extendRun(extension);
      });
      await expect(ledger.extendRun(extension)).resolves.toEqual({ budgetMicros: 1_050_000 });
      expect(race.fired).toBe(1);
      expect(await rawRun(run.runId)).toMatchObject({ budgetMicros: 1_050_000, headroomMicros: 1_050_000, extensions: { X1: 50_000 } });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(1_050_000);
    });

    it('Given calls, charges, extensions and settles on a run, When the ledger reads the run, Then every read is strongly consistent (a write just made is seen)', async () => {
      const run = await submitted({ requester: 'run-side-6', ledgerDay: '2032-04-06', budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      await ledger.reserveCall(run.runId, 'c1', 100_000);
      await ledger.reserveCall(run.runId, 'c1', 100_000);
      await ledger.reserveCall(run.runId, 'c2', 100_000);
      await ledger.settleCall(run.runId, 'c1', 50_000, usage(1, 1));
      await ledger.charge(run.runId, 'compute', 10_000);
      await ledger.charge(run.runId, 'compute', 10_000);
      await ledger.extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 50_000, maxBudgetMicros, limits: generous });
      await ledger.settleRun(run.runId);
      await ledger.settleCall(run.runId, 'c2', 20_000, usage(1, 1));
      await ledger.charge(run.runId, 'late', 5_000);
      const reads = { command: GetCommand, table: db.names.runs };
      expect(faults.sentCount(reads)).toBeGreaterThanOrEqual(8);
      expect(faults.sentCount({ ...reads, where: (input) => input.ConsistentRead !== true })).toBe(0);
    });

    it('Given a run settled by a version that kept no adjustment maps on the run, When a late charge and a dropped call settle, each twice, Then the run and both days count each once', async () => {
      const run = await submitted({ requester: 'run-side-7', ledgerDay: '2032-04-07', budgetMicros: 1_000_000 });
      const ledger = competitor();
      await ledger.reserveCall(run.runId, 'c1', 10_000);
      await ledger.settleRun(run.runId);
      await editRun(run.runId, 'REMOVE dayAdjustments, dayAdjustmentsApplied');
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(10_000);
      await ledger.charge(run.runId, 'late', 40_000);
      await ledger.charge(run.runId, 'late', 40_000);
      await ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1));
      await ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1));
      expect(await rawRun(run.runId)).toMatchObject({
        spentMicros: 47_000,
        lateMicros: 7_000,
        settledCalls: { c1: 7_000 },
        droppedCalls: {},
      });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(47_000);
    });

    it('Given a settled run, When a call it never reserved settles, Then it is refused as not reserved, naming the run and the call, and nothing is spent', async () => {
      const run = await submitted({ requester: 'run-side-8', ledgerDay: '2032-04-08', budgetMicros: 1_000_000 });
      const ledger = competitor();
      await ledger.settleRun(run.runId);
      const error = await rejection(ledger.settleCall(run.runId, 'ghost', 5_000, usage(1, 1)));
      expect(error).toBeInstanceOf(CallNotReservedError);
      expect(error).toMatchObject({ name: 'CallNotReservedError', runId: run.runId, callId: 'ghost' });
      expect(String(error)).toContain(`run ${run.runId} has no reservation for call ghost`);
      expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 0 });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(0);
    });

    it('Given a charge, When the same charge id comes with another amount, Then the refusal names the run, the charge and both amounts', async () => {
      const run = await submitted({ requester: 'run-side-9', ledgerDay: '2032-04-09', budgetMicros: 1_000_000 });
      const ledger = competitor();
      await ledger.charge(run.runId, 'compute', 70_000);
      const error = await rejection(ledger.charge(run.runId, 'compute', 90_000));
      expect(error).toBeInstanceOf(LedgerInconsistencyError);
      expect(String(error)).toContain(`run ${run.runId} charge compute was 70000 micro-USD, now asked for 90000`);
    });

    it('Given a dropped call settling late, When another writer settles it and then its own write is throttled, Then the throttle is thrown, not taken for the other writer`s success, and the call counts once', async () => {
      const run = await submitted({ requester: 'run-side-10', ledgerDay: '2032-04-10', budgetMicros: 1_000_000 });
      await competitor().reserveCall(run.runId, 'c1', 200_000);
      await competitor().settleRun(run.runId);
      const { ledger, faults } = faulty();
      const write = onRun(run.runId, 'droppedCalls.#call = :dropped');
      const race = faults.before(write, async () => {
        await competitor().settleCall(run.runId, 'c1', 120_000, usage(2, 3));
      });
      const throttle = faults.throttle(write);
      const failure = await rejection(ledger.settleCall(run.runId, 'c1', 120_000, usage(2, 3)));
      expect(failure).toBeInstanceOf(ProvisionedThroughputExceededException);
      expect([race.fired, throttle.fired]).toEqual([1, 1]);
      expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 120_000, tokens: usage(2, 3) });
      for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(120_000);
    });
  });
});
