import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BudgetExhaustedError, BudgetRefusedError, RunNotFoundError } from '../../core/errors';
import { CallNotReservedError, createStore, LedgerInconsistencyError, secondsUntilNextUtcDay } from '../../adapters/dynamodb';
import { BudgetExtensionRefusedError } from '../../adapters/dynamodb/budget-ledger';
import type { DailyLimits, RunRecord } from '../../core/store/ports';
import { controlItemKey } from '../../adapters/dynamodb/tables';
import { withDynalite } from '../support/dynalite';
import { generousLimits as generous, ledgerItems, usage } from '../support/ledger-items';
import { queuedRun } from './run-fixtures';

describe('budget ledger', () => {
  const db = withDynalite();
  // A fixed clock: 2030-01-02 23:59:00 UTC, one minute before the next day.
  const clock = () => new Date('2030-01-02T23:59:00.000Z');
  let ledger: ReturnType<typeof createStore>['ledger'];
  let runs: ReturnType<typeof createStore>['runs'];

  beforeAll(() => {
    ({ ledger, runs } = createStore(db.doc, db.names, { now: clock }));
  });

  const { dayItem, committed, rawRun, committedOnDays } = ledgerItems(db);

  /** Submit's ledger half: reserve the budget on both days, then store the run. */
  async function submittedRun(overrides: Partial<RunRecord> = {}, limits: DailyLimits = generous): Promise<RunRecord> {
    const run = queuedRun(overrides);
    await ledger.reserveRun({ runId: run.runId, requester: run.requester, day: run.ledgerDay, budgetMicros: run.budgetMicros, limits });
    await runs.create(run);
    return run;
  }

  describe('budget extensions (an approved budget_approval)', () => {
    const max = 10_000_000;
    it('Given a run that used its budget, When more is approved, Then its budget, headroom and both days grow once, and settling returns exactly the unspent part', async () => {
      const requester = 'arn:aws:iam::1:user/ext-1';
      const run = await submittedRun({ requester, ledgerDay: '2031-07-01', budgetMicros: 1_000_000 });
      await ledger.charge(run.runId, 'compute-1', 1_000_000);
      await expect(ledger.reserveCall(run.runId, 'turn-0002', 10)).rejects.toBeInstanceOf(BudgetExhaustedError);
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'ITEM1', extraMicros: 2_000_000, maxBudgetMicros: max, limits: generous }),
      ).resolves.toEqual({ budgetMicros: 3_000_000 });
      // The same approval again changes nothing.
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'ITEM1', extraMicros: 2_000_000, maxBudgetMicros: max, limits: generous }),
      ).resolves.toEqual({ budgetMicros: 3_000_000 });
      expect(await committedOnDays(requester, '2031-07-01')).toEqual({ requester: 3_000_000, org: 3_000_000 });
      await ledger.reserveCall(run.runId, 'turn-0002', 500_000);
      await ledger.settleCall(run.runId, 'turn-0002', 400_000, usage(1, 1));
      expect(await rawRun(run.runId)).toMatchObject({ budgetMicros: 3_000_000, spentMicros: 1_400_000, headroomMicros: 1_600_000 });
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 1_600_000, spentMicros: 1_400_000 });
      expect(await committedOnDays(requester, '2031-07-01')).toEqual({ requester: 1_400_000, org: 1_400_000 });
      // A settled run takes no more.
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'ITEM2', extraMicros: 1, maxBudgetMicros: max, limits: generous }),
      ).rejects.toBeInstanceOf(BudgetExtensionRefusedError);
    });

    it('Given a run, When an extension brings its budget exactly to maxPerRunUsd, Then it is taken; When the next one would pass it by one micro-USD, Then it is refused naming the budget it would have and the limit', async () => {
      const run = await submittedRun({ requester: 'arn:aws:iam::1:user/ext-3', ledgerDay: '2031-07-03', budgetMicros: 4_000_000 });
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'ITEM1', extraMicros: 6_000_000, maxBudgetMicros: max, limits: generous }),
      ).resolves.toEqual({ budgetMicros: max });
      const refusal = ledger.extendRun({ runId: run.runId, extensionId: 'ITEM2', extraMicros: 1, maxBudgetMicros: max, limits: generous });
      await expect(refusal).rejects.toBeInstanceOf(BudgetExtensionRefusedError);
      await expect(refusal).rejects.toThrow('its budget would be 10000001 micro-USD, above budgets.maxPerRunUsd (10000000)');
      expect(await rawRun(run.runId)).toMatchObject({ budgetMicros: max });
    });

    it('Given limits, When an extension does not fit maxPerRunUsd or a day, Then it is refused and nothing moved (the requester day undone when the org day refuses)', async () => {
      const requester = 'arn:aws:iam::1:user/ext-2';
      const run = await submittedRun({ requester, ledgerDay: '2031-07-02', budgetMicros: 4_000_000 });
      const before = {
        run: await rawRun(run.runId),
        org: await committed(controlItemKey.orgDay('2031-07-02')),
        mine: await committed(controlItemKey.requesterDay(requester, '2031-07-02')),
      };
      await expect(
        ledger.extendRun({ runId: run.runId, extensionId: 'ITEM1', extraMicros: 7_000_000, maxBudgetMicros: max, limits: generous }),
      ).rejects.toBeInstanceOf(BudgetExtensionRefusedError);
      await expect(
        ledger.extendRun({
          runId: run.runId,
          extensionId: 'ITEM1',
          extraMicros: 1_000_000,
          maxBudgetMicros: max,
          limits: { requesterDailyMicros: 4_500_000, orgDailyMicros: 100_000_000 },
        }),
      ).rejects.toMatchObject({ name: BudgetRefusedError.name, scope: 'requester' });
      await expect(
        ledger.extendRun({
          runId: run.runId,
          extensionId: 'ITEM1',
          extraMicros: 1_000_000,
          maxBudgetMicros: max,
          limits: { requesterDailyMicros: 100_000_000, orgDailyMicros: 4_500_000 },
        }),
      ).rejects.toMatchObject({ scope: 'org' });
      expect({
        run: await rawRun(run.runId),
        org: await committed(controlItemKey.orgDay('2031-07-02')),
        mine: await committed(controlItemKey.requesterDay(requester, '2031-07-02')),
      }).toEqual(before);
    });
  });

  describe('run reservations against the days', () => {
    it('Given a fresh day and a requester, When a 3 USD run is reserved, Then both the requester day and the org day commit 3 USD', async () => {
      // Given a fresh day (2030-02-01) and a requester
      const requester = 'arn:aws:iam::1:user/ada';
      // When a 3 USD run is reserved
      await submittedRun({ requester, ledgerDay: '2030-02-01', budgetMicros: 3_000_000 });
      // Then both days commit 3 USD
      expect(await committedOnDays(requester, '2030-02-01')).toEqual({ requester: 3_000_000, org: 3_000_000 });
    });

    it('Given an org limit of 10 USD, When 50 requesters reserve a 1 USD run at once, Then exactly 10 fit, the org day holds exactly the limit, the rest are refused by the org and their requester reservations undone', async () => {
      // Given an org limit of 10 USD and 50 requesters each submitting a 1 USD run at once
      const day = '2030-03-01';
      const limits = { requesterDailyMicros: 5_000_000, orgDailyMicros: 10_000_000 };
      const attempts = Array.from({ length: 50 }, (_, i) => queuedRun({ requester: `user-${i}`, ledgerDay: day, budgetMicros: 1_000_000 }));
      // When they all reserve concurrently
      const results = await Promise.allSettled(
        attempts.map((run) =>
          ledger.reserveRun({ runId: run.runId, requester: run.requester, day, budgetMicros: run.budgetMicros, limits }),
        ),
      );
      // Then exactly 10 fit, the org day holds exactly the limit, and the rest were refused by the org
      const accepted = results.filter((result) => result.status === 'fulfilled');
      expect(accepted).toHaveLength(10);
      expect(await committed(controlItemKey.orgDay(day))).toBe(10_000_000);
      for (const result of results) {
        if (result.status === 'rejected') {
          expect(result.reason).toBeInstanceOf(BudgetRefusedError);
          expect(result.reason).toMatchObject({ scope: 'org', retryAfterSeconds: 60 });
        }
      }
      // And every refused requester got its own reservation undone
      const requesterTotals = await Promise.all(attempts.map((run) => committed(controlItemKey.requesterDay(run.requester, day))));
      expect(requesterTotals.reduce((sum, micros) => sum + micros, 0)).toBe(10_000_000);
    });

    it('Given a requester 1.5 USD into a 2 USD daily limit, When they submit a 1 USD run, Then the requester scope refuses it and neither day moves', async () => {
      // Given a requester with a 2 USD daily limit who already reserved 1.5 USD
      const day = '2030-03-02';
      const limits = { requesterDailyMicros: 2_000_000, orgDailyMicros: 100_000_000 };
      await submittedRun({ requester: 'bob', ledgerDay: day, budgetMicros: 1_500_000 }, limits);
      // When they submit a 1 USD run
      const run = queuedRun({ requester: 'bob', ledgerDay: day, budgetMicros: 1_000_000 });
      const refused = ledger.reserveRun({ runId: run.runId, requester: 'bob', day, budgetMicros: 1_000_000, limits });
      // Then the requester scope refuses it and neither day moves
      await expect(refused).rejects.toMatchObject({ name: 'BudgetRefusedError', scope: 'requester' });
      expect(await committedOnDays('bob', day)).toEqual({ requester: 1_500_000, org: 1_500_000 });
    });

    it('Given a reserved run whose creation failed, When its reservation is released twice, Then both days are back to zero, not below', async () => {
      // Given a reserved run whose creation failed
      const day = '2030-03-03';
      const run = queuedRun({ requester: 'carol', ledgerDay: day, budgetMicros: 2_000_000 });
      await ledger.reserveRun({ runId: run.runId, requester: 'carol', day, budgetMicros: 2_000_000, limits: generous });
      // When the reservation is released twice
      await ledger.releaseRunReservation({ runId: run.runId, requester: 'carol', day, budgetMicros: 2_000_000 });
      await ledger.releaseRunReservation({ runId: run.runId, requester: 'carol', day, budgetMicros: 2_000_000 });
      // Then both days are back to zero, not below
      expect(await committedOnDays('carol', day)).toEqual({ requester: 0, org: 0 });
    });

    it('Given a day with one reservation, When a run that never reserved is released, Then the committed spend is unchanged', async () => {
      // Given a day with one reservation
      const day = '2030-03-04';
      await submittedRun({ requester: 'dan', ledgerDay: day, budgetMicros: 1_000_000 });
      // When another run that never reserved is released
      await ledger.releaseRunReservation({ runId: queuedRun().runId, requester: 'dan', day, budgetMicros: 1_000_000 });
      // Then the committed spend is unchanged
      expect(await committed(controlItemKey.orgDay(day))).toBe(1_000_000);
    });

    it('Given a moment of the day, When Retry-After is counted, Then it is the seconds to the next UTC midnight, rounded up', () => {
      expect(secondsUntilNextUtcDay(new Date('2030-01-02T00:00:00.000Z'))).toBe(86_400);
      expect(secondsUntilNextUtcDay(new Date('2030-01-02T23:59:59.500Z'))).toBe(1);
    });
  });

  describe('model calls inside a run', () => {
    it('Given a 1 USD run that spent 0.1 USD, When 100 model calls reserve 0.03 USD each at once, Then exactly the 30 that fit are reserved, the rest refused, and spent plus in flight never exceeds the budget', async () => {
      // Given a run with 1 USD budget that already spent 0.1 USD of compute
      const run = await submittedRun({ budgetMicros: 1_000_000 });
      await ledger.charge(run.runId, 'compute-1', 100_000);
      // When 100 model calls reserve a 0.03 USD worst case each at once
      const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => ledger.reserveCall(run.runId, `call-${i}`, 30_000)));
      // Then exactly the 30 that fit in the remaining 0.9 USD are reserved and the rest are refused
      const reserved = results.filter((result) => result.status === 'fulfilled').length;
      expect(reserved).toBe(30);
      for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(BudgetExhaustedError);
      // And spent + in flight never exceeds the budget
      const item = await rawRun(run.runId);
      expect((item.spentMicros as number) + (item.inflightMicros as number)).toBeLessThanOrEqual(1_000_000);
      expect(Object.values(item.calls as Record<string, number>).reduce((sum, micros) => sum + micros, 0)).toBe(item.inflightMicros);
    });

    it('Given a run with a reserved call, When the call is settled twice, Then its real cost and tokens count once and the reservation is gone', async () => {
      // Given a run with a reserved call
      const run = await submittedRun({ budgetMicros: 1_000_000 });
      await ledger.reserveCall(run.runId, 'c1', 300_000);
      // When the call is settled twice (a retried Lambda, a replayed message)
      await ledger.settleCall(run.runId, 'c1', 120_000, usage(1_000, 200));
      await ledger.settleCall(run.runId, 'c1', 120_000, usage(1_000, 200));
      // Then its cost and tokens count once and the reservation is gone
      const stored = await runs.get(run.runId);
      expect(stored).toMatchObject({ spentMicros: 120_000, tokens: usage(1_000, 200) });
      const item = await rawRun(run.runId);
      expect(item).toMatchObject({ inflightMicros: 0, headroomMicros: 880_000, calls: {} });
    });

    it('Given a run with a reserved call, When it is settled 10 times concurrently, Then its cost and tokens count once', async () => {
      const run = await submittedRun({ budgetMicros: 1_000_000 });
      await ledger.reserveCall(run.runId, 'c1', 300_000);
      await Promise.all(Array.from({ length: 10 }, () => ledger.settleCall(run.runId, 'c1', 50_000, usage(10, 1))));
      expect(await runs.get(run.runId)).toMatchObject({ spentMicros: 50_000, tokens: usage(10, 1) });
    });

    it('Given a call already reserved, When it is reserved again, Then it is the same reservation, held once', async () => {
      const run = await submittedRun({ budgetMicros: 1_000_000 });
      await ledger.reserveCall(run.runId, 'c1', 400_000);
      await ledger.reserveCall(run.runId, 'c1', 400_000);
      expect(await rawRun(run.runId)).toMatchObject({ inflightMicros: 400_000, headroomMicros: 600_000 });
    });

    it('Given a call that was never reserved, When it is settled, Then it is refused and nothing is spent', async () => {
      const run = await submittedRun();
      await expect(ledger.settleCall(run.runId, 'ghost', 1, usage(1, 1))).rejects.toBeInstanceOf(CallNotReservedError);
      expect(await runs.get(run.runId)).toMatchObject({ spentMicros: 0 });
    });

    it('Given a compute charge, When it is charged again under the same id, Then it counts once; When a different amount comes under that id, Then it is refused', async () => {
      const run = await submittedRun({ budgetMicros: 1_000_000 });
      await ledger.charge(run.runId, 'compute-1', 70_000);
      await ledger.charge(run.runId, 'compute-1', 70_000);
      await expect(ledger.charge(run.runId, 'compute-1', 90_000)).rejects.toBeInstanceOf(LedgerInconsistencyError);
      expect(await runs.get(run.runId)).toMatchObject({ spentMicros: 70_000 });
    });

    it('Given an unknown run, When a call is reserved or the run settled, Then it is RunNotFoundError', async () => {
      const { runId } = queuedRun();
      await expect(ledger.reserveCall(runId, 'c1', 1)).rejects.toBeInstanceOf(RunNotFoundError);
      await expect(ledger.settleRun(runId)).rejects.toBeInstanceOf(RunNotFoundError);
    });
  });

  describe('settling a run', () => {
    it('Given a 2 USD run that spent 0.5 USD with a 0.3 USD call in flight, When settleRun is called twice and then five times concurrently, Then each reports the same refund, the days keep the in-flight worst case, and no more calls can be reserved', async () => {
      // Given a 2 USD run on a fresh day that spent 0.5 USD and has a 0.3 USD call still in flight
      const day = '2030-04-01';
      const run = await submittedRun({ requester: 'erin', ledgerDay: day, budgetMicros: 2_000_000 });
      await ledger.reserveCall(run.runId, 'c1', 200_000);
      await ledger.settleCall(run.runId, 'c1', 500_000, usage(5, 5));
      await ledger.reserveCall(run.runId, 'c2', 300_000);
      // When settleRun is called twice, then concurrently five more times
      const first = await ledger.settleRun(run.runId);
      const second = await ledger.settleRun(run.runId);
      const more = await Promise.all(Array.from({ length: 5 }, () => ledger.settleRun(run.runId)));
      // Then every call reports the same refund of 1.2 USD: the in-flight call's worst case is kept back
      expect(first).toEqual({ refundedMicros: 1_200_000, spentMicros: 500_000 });
      for (const result of [second, ...more]) expect(result).toEqual(first);
      // And each day holds what the run spent plus what its in-flight call may still cost
      expect(await committedOnDays('erin', day)).toEqual({ requester: 800_000, org: 800_000 });
      // And no more calls can be reserved on the settled run
      await expect(ledger.reserveCall(run.runId, 'c3', 1)).rejects.toBeInstanceOf(BudgetExhaustedError);
    });

    it('Given a settle that crashed before refunding the org day, When settleRun runs again, Then both days get the refund exactly once', async () => {
      // Given a run whose settle wrote `settled` but crashed before refunding the org day
      const day = '2030-04-02';
      const run = await submittedRun({ requester: 'frank', ledgerDay: day, budgetMicros: 1_000_000 });
      const crashing = createStore(db.doc, { ...db.names, control: 'no-such-table' }, { now: clock }).ledger;
      await expect(crashing.settleRun(run.runId)).rejects.toThrow();
      expect(await committed(controlItemKey.orgDay(day))).toBe(1_000_000);
      // When settleRun runs again with the real tables
      await ledger.settleRun(run.runId);
      await ledger.settleRun(run.runId);
      // Then both days got the refund exactly once
      expect(await committedOnDays('frank', day)).toEqual({ requester: 0, org: 0 });
    });

    it('Given a run that overspent its budget, When it is settled twice, Then nothing is refunded, nothing goes negative and both days count the overspend', async () => {
      const day = '2030-04-03';
      const run = await submittedRun({ requester: 'gina', ledgerDay: day, budgetMicros: 100_000 });
      await ledger.reserveCall(run.runId, 'c1', 100_000);
      await ledger.settleCall(run.runId, 'c1', 100_000, usage(1, 1));
      await ledger.charge(run.runId, 'compute', 20_000);
      expect(await ledger.settleRun(run.runId)).toEqual({ refundedMicros: 0, spentMicros: 120_000 });
      await ledger.settleRun(run.runId);
      expect(await committedOnDays('gina', day)).toEqual({ requester: 120_000, org: 120_000 });
    });

    it('Given a settled run, When a compute charge arrives afterwards twice and it settles again, Then the run and both days hold the true spend, the charge counted once', async () => {
      // Given a 2 USD run that spent 0.5 USD and was settled (the day holds 0.5 USD)
      const day = '2030-04-05';
      const run = await submittedRun({ requester: 'ivan', ledgerDay: day, budgetMicros: 2_000_000 });
      await ledger.reserveCall(run.runId, 'c1', 600_000);
      await ledger.settleCall(run.runId, 'c1', 500_000, usage(1, 1));
      await ledger.settleRun(run.runId);
      expect(await committed(controlItemKey.orgDay(day))).toBe(500_000);
      // When the runner's SIGTERM path charges its compute afterwards, twice (a retry), and settle runs again
      await ledger.charge(run.runId, 'compute', 70_000);
      await ledger.charge(run.runId, 'compute', 70_000);
      await ledger.settleRun(run.runId);
      // Then the run and both days hold the true spend
      expect((await runs.get(run.runId))?.spentMicros).toBe(570_000);
      expect(await committedOnDays('ivan', day)).toEqual({ requester: 570_000, org: 570_000 });
    });

    it('Given two calls in flight when a run settles, When they settle afterwards, one cheaper and one dearer than reserved, each twice, Then both days hold exactly the true spend', async () => {
      // Given a 2 USD run with two calls in flight (0.3 and 0.2 USD worst case) when it settles
      const day = '2030-04-06';
      const run = await submittedRun({ requester: 'judy', ledgerDay: day, budgetMicros: 2_000_000 });
      await ledger.reserveCall(run.runId, 'c1', 300_000);
      await ledger.reserveCall(run.runId, 'c2', 200_000);
      const settled = await ledger.settleRun(run.runId);
      expect(settled.refundedMicros).toBe(1_500_000);
      expect(await committed(controlItemKey.orgDay(day))).toBe(500_000);
      // When they settle afterwards: one cheaper than reserved, one dearer (each settled twice)
      await ledger.settleCall(run.runId, 'c1', 100_000, usage(1, 1));
      await ledger.settleCall(run.runId, 'c2', 250_000, usage(1, 1));
      await ledger.settleCall(run.runId, 'c1', 100_000, usage(1, 1));
      await ledger.settleCall(run.runId, 'c2', 250_000, usage(1, 1));
      // Then both days hold exactly the true spend
      expect((await runs.get(run.runId))?.spentMicros).toBe(350_000);
      expect(await committedOnDays('judy', day)).toEqual({ requester: 350_000, org: 350_000 });
    });

    it('Given a late charge recorded on a settled run but not on its days (a crash), When the charge is retried and the run settled again, Then both days get it exactly once', async () => {
      // Given a settled run whose late charge was recorded on the run but not on the days (crash)
      const day = '2030-04-07';
      const run = await submittedRun({ requester: 'kim', ledgerDay: day, budgetMicros: 1_000_000 });
      await ledger.settleRun(run.runId);
      const crashing = createStore(db.doc, { ...db.names, control: 'no-such-table' }, { now: clock }).ledger;
      await expect(crashing.charge(run.runId, 'compute', 40_000)).rejects.toThrow();
      expect(await committed(controlItemKey.orgDay(day))).toBe(0);
      // When the charge is retried, and the run settled again
      await ledger.charge(run.runId, 'compute', 40_000);
      await ledger.settleRun(run.runId);
      // Then both days got it exactly once
      expect(await committedOnDays('kim', day)).toEqual({ requester: 40_000, org: 40_000 });
    });

    it('Given a run that settled, Then neither of its days keeps an entry for it (a day item does not grow with the runs of the day)', async () => {
      const day = '2030-04-08';
      const requester = 'lena';
      const before = await dayItem(controlItemKey.orgDay(day));
      const run = await submittedRun({ requester, ledgerDay: day, budgetMicros: 1_000_000 });
      await ledger.reserveCall(run.runId, 'c1', 300_000);
      await ledger.settleCall(run.runId, 'c1', 200_000, usage(1, 1));
      await ledger.charge(run.runId, 'compute', 10_000);
      await ledger.settleRun(run.runId);
      await ledger.charge(run.runId, 'late-compute', 5_000);
      for (const pk of [controlItemKey.orgDay(day), controlItemKey.requesterDay(requester, day)]) {
        const item = await dayItem(pk);
        expect(item).toMatchObject({ committedMicros: 215_000, reservations: {} });
        expect(item?.refunds).toBeUndefined();
        expect(item?.adjustments).toBeUndefined();
        expect(item?.late ?? {}).toEqual({});
      }
      expect(before).toBeUndefined();
    });

    it('Given a late charge retried while settleRun is retried, all at once, Then each day counts it once', async () => {
      const day = '2030-04-09';
      const run = await submittedRun({ requester: 'mia', ledgerDay: day, budgetMicros: 1_000_000 });
      await ledger.settleRun(run.runId);
      await Promise.all([
        ...Array.from({ length: 4 }, () => ledger.charge(run.runId, 'compute', 30_000)),
        ...Array.from({ length: 4 }, () => ledger.settleRun(run.runId)),
      ]);
      expect(await committedOnDays('mia', day)).toEqual({ requester: 30_000, org: 30_000 });
      expect((await dayItem(controlItemKey.orgDay(day)))?.late).toEqual({});
    });

    it('Given an extension on the days that its run never took (extendRun stopped after the days), When the run settles, Then the days give it back too', async () => {
      const day = '2030-04-10';
      const run = await submittedRun({ requester: 'noor', ledgerDay: day, budgetMicros: 1_000_000 });
      await ledger.charge(run.runId, 'compute', 100_000);
      for (const pk of [controlItemKey.orgDay(day), controlItemKey.requesterDay('noor', day)]) {
        await db.doc.send(
          new UpdateCommand({
            TableName: db.names.control,
            Key: { pk },
            UpdateExpression: 'SET committedMicros = committedMicros + :x, reservations.#run = reservations.#run + :x, extensions = :ext',
            ExpressionAttributeNames: { '#run': run.runId },
            ExpressionAttributeValues: { ':x': 500_000, ':ext': { [`${run.runId}#ITEM9`]: 500_000 } },
          }),
        );
      }
      expect(await committed(controlItemKey.orgDay(day))).toBe(1_500_000);
      await expect(ledger.settleRun(run.runId)).resolves.toEqual({ refundedMicros: 900_000, spentMicros: 100_000 });
      await ledger.settleRun(run.runId);
      for (const pk of [controlItemKey.orgDay(day), controlItemKey.requesterDay('noor', day)]) {
        expect(await dayItem(pk)).toMatchObject({ committedMicros: 100_000, reservations: {}, extensions: {} });
      }
    });

    it('Given a day item in the previous format (a run refunded with a kept `refunds` marker, its overspend in `adjustments`), When the run is settled again and a late charge comes, Then nothing is counted twice', async () => {
      const day = '2030-04-11';
      const run = await submittedRun({ requester: 'omar', ledgerDay: day, budgetMicros: 100_000 });
      await ledger.charge(run.runId, 'compute', 120_000);
      // Step 1 of settle only (the days unreachable), then the days as the previous version settled them.
      const crashing = createStore(db.doc, { ...db.names, control: 'no-such-table' }, { now: clock }).ledger;
      await expect(crashing.settleRun(run.runId)).rejects.toThrow();
      for (const pk of [controlItemKey.orgDay(day), controlItemKey.requesterDay('omar', day)]) {
        await db.doc.send(
          new UpdateCommand({
            TableName: db.names.control,
            Key: { pk },
            UpdateExpression: 'SET committedMicros = committedMicros + :over, refunds = :refunds, adjustments = :adjustments',
            ExpressionAttributeValues: {
              ':over': 20_000,
              ':refunds': { [run.runId]: 0 },
              ':adjustments': { [`${run.runId}#settle`]: 20_000 },
            },
          }),
        );
      }
      expect(await committed(controlItemKey.orgDay(day))).toBe(120_000);
      await ledger.settleRun(run.runId);
      await ledger.charge(run.runId, 'late', 3_000);
      await ledger.settleRun(run.runId);
      expect(await committedOnDays('omar', day)).toEqual({ requester: 123_000, org: 123_000 });
      // And a new run on that old-format day reserves and settles as usual.
      const next = await submittedRun({ requester: 'omar', ledgerDay: day, budgetMicros: 50_000 });
      expect(await committed(controlItemKey.orgDay(day))).toBe(173_000);
      await ledger.settleRun(next.runId);
      expect(await committed(controlItemKey.orgDay(day))).toBe(123_000);
    });

    it('Given an overspent run the previous version refunded on its requester day only (it stopped before the org day), When it is settled again, Then each day counts the overspend once', async () => {
      const day = '2030-04-12';
      const run = await submittedRun({ requester: 'pia', ledgerDay: day, budgetMicros: 100_000 });
      await ledger.charge(run.runId, 'compute', 130_000);
      const crashing = createStore(db.doc, { ...db.names, control: 'no-such-table' }, { now: clock }).ledger;
      await expect(crashing.settleRun(run.runId)).rejects.toThrow();
      await db.doc.send(
        new UpdateCommand({
          TableName: db.names.control,
          Key: { pk: controlItemKey.requesterDay('pia', day) },
          UpdateExpression: 'SET committedMicros = committedMicros + :over, refunds = :refunds, adjustments = :adjustments',
          ExpressionAttributeValues: {
            ':over': 30_000,
            ':refunds': { [run.runId]: 0 },
            ':adjustments': { [`${run.runId}#settle`]: 30_000 },
          },
        }),
      );
      await ledger.settleRun(run.runId);
      await ledger.settleRun(run.runId);
      expect(await committedOnDays('pia', day)).toEqual({ requester: 130_000, org: 130_000 });
    });

    it('Given a run with 20 calls in flight, When they settle while the run settles, Then the run records every call once and the day ends holding exactly the true spend', async () => {
      // Given a run with 20 calls in flight
      const day = '2030-04-04';
      const run = await submittedRun({ requester: 'hal', ledgerDay: day, budgetMicros: 5_000_000 });
      await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.reserveCall(run.runId, `c${i}`, 100_000)));
      // When they settle while the run settles
      const [settled] = await Promise.all([
        ledger.settleRun(run.runId),
        ...Array.from({ length: 20 }, (_, i) => ledger.settleCall(run.runId, `c${i}`, 10_000, usage(1, 1))),
      ]);
      // Then the day holds exactly budget - refund, and the run records every call once
      const stored = await runs.get(run.runId);
      expect(stored?.spentMicros).toBe(200_000);
      expect(stored?.tokens).toEqual(usage(20, 20));
      expect(settled.refundedMicros).toBeGreaterThanOrEqual(3_000_000);
      // And once every call settled, the day holds the true spend (calls dropped at settle were counted late)
      expect(await committed(controlItemKey.orgDay(day))).toBe(200_000);
    });
  });
});
