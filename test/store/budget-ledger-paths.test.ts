import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BudgetRefusedError } from '../../core/errors';
import { LedgerInconsistencyError, secondsUntilNextUtcDay } from '../../adapters/dynamodb';
import { BudgetExtensionRefusedError, createBudgetLedger } from '../../adapters/dynamodb/budget-ledger';
import type { DailyLimits, RunRecord } from '../../core/store/ports';
import { withDynalite } from '../support/dynalite';
import { daysOf, generousLimits as generous, ledgerItems, ledgersOver, usage } from '../support/ledger-items';
import { rejection } from '../support/rejection';
import type { CommandMatch } from '../support/dynamo-faults';
import { queuedRun } from './run-fixtures';

/**
 * The paths of adapters/dynamodb/budget-ledger.ts that the older ledger tests left unpinned (found by
 * `npm run mutation -- --mutate adapters/dynamodb/budget-ledger.ts`): the real clock behind Retry-After,
 * the documented names of the run's day markers, a settle stopped between its run and its days meeting
 * an extension, a retried extension after the run ended, an overspent run's late call, a late entry that
 * only its own write moves, and a settled run the ledger cannot make sense of. Against dynalite, with
 * faults and competing writers from test/support/dynamo-faults.ts; each race checks that it fired.
 */

const clock = () => new Date('2030-01-02T23:59:00.000Z');
const maxBudgetMicros = 100_000_000;

describe('budget ledger paths', () => {
  const db = withDynalite();
  const { dayItem, committed, rawRun, editRun } = ledgerItems(db);
  const { real, faulty, submitted } = ledgersOver(db, clock);

  const onDay = (pk: string, condition: (expression: string) => boolean): CommandMatch => ({
    command: UpdateCommand,
    table: db.names.control,
    key: { pk },
    where: (input) => condition(String(input.ConditionExpression ?? '')),
  });
  /** The day write that ends a run's reservation (settleRun's step 2, a release). */
  const endOnDay = (pk: string) => onDay(pk, (c) => c.includes('reservations.#run = :reserved'));
  /** extendRun's first write on a day: it only checks the day still holds the run. */
  const extendOnDay = (pk: string) => onDay(pk, (c) => c === 'attribute_exists(reservations.#run)');
  /** Any write on any day that names late entry `key` (runId#entry). */
  const lateOnAnyDay = (key: string): CommandMatch => ({
    command: UpdateCommand,
    table: db.names.control,
    where: (input) => (input.ExpressionAttributeNames as Record<string, string> | undefined)?.['#key'] === key,
  });

  /** settleRun stopped by a fault on `stopAt` (a day write): the run is settled, the days from there on are not. */
  async function settleStoppedAt(run: RunRecord, stopAt: CommandMatch): Promise<void> {
    const { ledger, faults } = faulty();
    const fault = faults.throttle(stopAt);
    await expect(ledger.settleRun(run.runId)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(fault.fired).toBe(1);
    expect(await rawRun(run.runId)).toMatchObject({ settled: true });
  }

  it('Given a ledger built as the Lambdas build it (on the real clock), When a day refuses a run, Then Retry-After is the seconds to the next UTC midnight', async () => {
    const run = queuedRun({ requester: 'paths-1', ledgerDay: '2033-01-01', budgetMicros: 1_000 });
    const before = secondsUntilNextUtcDay(new Date());
    const error = await rejection(
      createBudgetLedger(db.doc, { runs: db.names.runs, control: db.names.control }).reserveRun({
        runId: run.runId,
        requester: run.requester,
        day: run.ledgerDay,
        budgetMicros: run.budgetMicros,
        limits: { requesterDailyMicros: 0, orgDailyMicros: generous.orgDailyMicros },
      }),
    );
    const after = secondsUntilNextUtcDay(new Date());
    expect(error).toBeInstanceOf(BudgetRefusedError);
    const { retryAfterSeconds } = error as BudgetRefusedError;
    // Read between `before` and `after`; across midnight the two bounds swap, hence min and max.
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(Math.min(before, after));
    expect(retryAfterSeconds).toBeLessThanOrEqual(Math.max(before, after));
  });

  it('Given a settled run, When a late charge is applied, Then the run marks each day as `<requester|org>#<entry>`, the names docs/data-model.md gives and items already stored carry', async () => {
    const run = await submitted({ requester: 'paths-2', ledgerDay: '2033-01-02', budgetMicros: 1_000_000 });
    await real().settleRun(run.runId);
    await real().charge(run.runId, 'compute', 25_000);
    expect((await rawRun(run.runId)).dayAdjustmentsApplied).toEqual({ 'requester#charge:compute': true, 'org#charge:compute': true });
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(25_000);
  });

  it('Given a late charge whose day write failed, When a late call settles, Then the call moves the days by its own entry only and the charge waits for its retry', async () => {
    const run = await submitted({ requester: 'paths-3', ledgerDay: '2033-01-03', budgetMicros: 1_000_000 });
    await real().reserveCall(run.runId, 'c1', 10_000);
    await real().settleRun(run.runId);
    const chargeKey = `${run.runId}#charge:late`;
    const failing = faulty();
    const fault = failing.faults.throttle(lateOnAnyDay(chargeKey));
    await expect(failing.ledger.charge(run.runId, 'late', 40_000)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(fault.fired).toBe(1);

    const { ledger, faults } = faulty();
    const untouched = faults.throttle(lateOnAnyDay(chargeKey));
    await ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1));
    expect(untouched.fired).toBe(0);
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(7_000);

    await real().charge(run.runId, 'late', 40_000);
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(47_000);
  });

  it('Given a run that ended above its budget with a call in flight, When the call settles late and again, Then each day holds the true spend once', async () => {
    const run = await submitted({ requester: 'paths-4', ledgerDay: '2033-01-04', budgetMicros: 100_000 });
    await real().reserveCall(run.runId, 'c1', 50_000);
    await real().charge(run.runId, 'compute', 80_000);
    await expect(real().settleRun(run.runId)).resolves.toEqual({ refundedMicros: 0, spentMicros: 80_000 });
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(130_000);
    await real().settleCall(run.runId, 'c1', 20_000, usage(1, 1));
    await real().settleCall(run.runId, 'c1', 20_000, usage(1, 1));
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(100_000);
  });

  it('Given a run marked settled with no refund amount, When it is settled, Then the ledger refuses to guess, naming the run, and no day moves', async () => {
    const run = await submitted({ requester: 'paths-5', ledgerDay: '2033-01-05', budgetMicros: 1_000_000 });
    await editRun(run.runId, 'SET settled = :true', { ':true': true });
    const error = await rejection(real().settleRun(run.runId));
    expect(error).toBeInstanceOf(LedgerInconsistencyError);
    expect((error as Error).message).toBe(`run ${run.runId} is settled without a refund amount`);
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(1_000_000);
  });

  it('Given a run settled by a version that kept no adjustment maps, When it is settled again, Then it answers the same refund and no day moves', async () => {
    const run = await submitted({ requester: 'paths-6', ledgerDay: '2033-01-06', budgetMicros: 1_000_000 });
    await real().charge(run.runId, 'compute', 30_000);
    await expect(real().settleRun(run.runId)).resolves.toEqual({ refundedMicros: 970_000, spentMicros: 30_000 });
    await editRun(run.runId, 'REMOVE dayAdjustments, dayAdjustmentsApplied');
    await expect(real().settleRun(run.runId)).resolves.toEqual({ refundedMicros: 970_000, spentMicros: 30_000 });
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(30_000);
  });

  it('Given an extension taken and then the run settled, When the same extension is retried, Then it answers the extended budget, as the first time', async () => {
    const run = await submitted({ requester: 'paths-7', ledgerDay: '2033-01-07', budgetMicros: 1_000_000 });
    const extension = { runId: run.runId, extensionId: 'X1', extraMicros: 500_000, maxBudgetMicros, limits: generous };
    await expect(real().extendRun(extension)).resolves.toEqual({ budgetMicros: 1_500_000 });
    await real().settleRun(run.runId);
    await expect(real().extendRun(extension)).resolves.toEqual({ budgetMicros: 1_500_000 });
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(0);
  });

  describe('an extension on a run whose settle stopped between its steps', () => {
    /** The org day has no room for any extension: a day that answered would refuse with BudgetRefusedError. */
    const orgFull = (run: RunRecord): DailyLimits => ({
      requesterDailyMicros: generous.requesterDailyMicros,
      orgDailyMicros: run.budgetMicros,
    });

    it('Given the run settled and neither day yet, When an extension comes that the org day could not hold, Then it is refused because the run has ended, and no day takes it', async () => {
      const run = await submitted({ requester: 'paths-8', ledgerDay: '2033-01-08', budgetMicros: 1_000_000 });
      await settleStoppedAt(run, endOnDay(daysOf(run).requester));
      const error = await rejection(
        real().extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 1, maxBudgetMicros, limits: orgFull(run) }),
      );
      expect(error).toBeInstanceOf(BudgetExtensionRefusedError);
      expect((error as Error).message).toBe(`run ${run.runId} cannot take more budget: it has ended`);
      for (const pk of Object.values(daysOf(run))) {
        expect(await committed(pk)).toBe(1_000_000);
        expect((await dayItem(pk))?.extensions ?? {}).toEqual({});
      }
    });

    it('Given an extension, When the run settles on the run and the requester day (not the org day) just before the requester day takes it, Then it is refused because the run has ended, not for the org day', async () => {
      const run = await submitted({ requester: 'paths-9', ledgerDay: '2033-01-09', budgetMicros: 1_000_000 });
      const { ledger, faults } = faulty();
      const race = faults.before(extendOnDay(daysOf(run).requester), () => settleStoppedAt(run, endOnDay(daysOf(run).org)));
      const error = await rejection(
        ledger.extendRun({ runId: run.runId, extensionId: 'X1', extraMicros: 1, maxBudgetMicros, limits: orgFull(run) }),
      );
      expect(race.fired).toBe(1);
      expect(error).toBeInstanceOf(BudgetExtensionRefusedError);
      expect((error as Error).message).toBe(`run ${run.runId} cannot take more budget: it has ended`);
      expect(await committed(daysOf(run).requester)).toBe(0);
      expect(await committed(daysOf(run).org)).toBe(1_000_000);
      expect((await dayItem(daysOf(run).org))?.extensions ?? {}).toEqual({});
    });
  });
});
