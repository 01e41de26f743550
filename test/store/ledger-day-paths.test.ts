import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createLedgerDays, LedgerInconsistencyError, type LateCostRun } from '../../adapters/dynamodb/ledger-day';
import { withDynalite } from '../support/dynalite';
import { type CommandMatch, withFaults } from '../support/dynamo-faults';

/**
 * The day ledger on its own, against dynalite: reservations, their end, extensions and late costs on
 * one day item, with throttling faults (never swallowed) and competing writers between a failed
 * conditional write and the read that decides again. Each test uses its own day item.
 */

describe('the day ledger', () => {
  const db = withDynalite();
  let n = 0;
  const freshDay = () => {
    n += 1;
    return `day#test#${n}`;
  };

  function faulty() {
    const faults = withFaults(db.doc);
    return { days: createLedgerDays(faults.doc, db.names.control), faults };
  }
  const real = () => createLedgerDays(db.doc, db.names.control);
  const onDay = (pk: string, fragment: string): CommandMatch => ({
    command: UpdateCommand,
    table: db.names.control,
    key: { pk },
    where: (input) => String(input.ConditionExpression ?? '').includes(fragment),
  });

  async function raw(pk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.control, Key: { pk }, ConsistentRead: true }));
    return Item;
  }
  async function seed(pk: string, item: Record<string, unknown>): Promise<void> {
    await db.doc.send(new PutCommand({ TableName: db.names.control, Item: { pk, ...item } }));
  }
  /** The run's side of a late cost, in memory. */
  function lateRun(applied = false): LateCostRun & { marks: number; asks: number } {
    const run = {
      marks: 0,
      asks: 0,
      async applied() {
        run.asks += 1;
        return applied || run.marks > 0;
      },
      async markApplied() {
        run.marks += 1;
      },
    };
    return run;
  }

  describe('reserve', () => {
    it('Given a budget exactly equal to the day limit, When the run reserves on an empty day, Then it is reserved and the day counts all of it', async () => {
      const pk = freshDay();
      await expect(real().reserve(pk, '2030-01-02', 'r1', 1_000, 1_000)).resolves.toBe(true);
      const item = await raw(pk);
      expect(item).toMatchObject({ committedMicros: 1_000, reservations: { r1: 1_000 }, day: '2030-01-02' });
    });

    it('Given a budget over the day limit, When the run reserves, Then it is refused and no day item is written', async () => {
      const pk = freshDay();
      await expect(real().reserve(pk, '2030-01-02', 'r1', 1_001, 1_000)).resolves.toBe(false);
      expect(await raw(pk)).toBeUndefined();
    });

    it('Given a day with 600 of 1000 committed, When runs of 401 and then 400 reserve, Then the first is refused and the second fills the day exactly', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'a', 600, 1_000);
      await expect(days.reserve(pk, 'd', 'b', 401, 1_000)).resolves.toBe(false);
      expect((await raw(pk))?.committedMicros).toBe(600);
      await expect(days.reserve(pk, 'd', 'c', 400, 1_000)).resolves.toBe(true);
      expect(await raw(pk)).toMatchObject({ committedMicros: 1_000, reservations: { a: 600, c: 400 } });
    });

    it('Given a run already reserved on the day, When its submit is retried with the same budget on a full day, Then it is still reserved, counted once', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 700, 1_000);
      await expect(days.reserve(pk, 'd', 'r1', 700, 1_000)).resolves.toBe(true);
      expect(await raw(pk)).toMatchObject({ committedMicros: 700, reservations: { r1: 700 } });
    });

    it('Given a run already reserved on the day, When it reserves again with another budget, Then the ledger refuses to guess and the day is unchanged', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 700, 1_000);
      await expect(days.reserve(pk, 'd', 'r1', 300, 1_000)).rejects.toThrow(/already has a different or finished reservation/);
      await expect(days.reserve(pk, 'd', 'r1', 300, 1_000)).rejects.toBeInstanceOf(LedgerInconsistencyError);
      expect(await raw(pk)).toMatchObject({ committedMicros: 700, reservations: { r1: 700 } });
    });

    it('Given a run refunded on the day in the old format, When it reserves again, Then it is refused as finished and the day is not charged again', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 0, reservations: {}, refunds: { r1: 500 } });
      await expect(real().reserve(pk, 'd', 'r1', 500, 1_000)).rejects.toThrow(/already has a different or finished reservation/);
      expect(await raw(pk)).toMatchObject({ committedMicros: 0, reservations: {} });
    });

    it('Given the reservation write is throttled, When the run reserves, Then the fault is thrown and nothing is written', async () => {
      const pk = freshDay();
      const { days, faults } = faulty();
      const throttle = faults.throttle(onDay(pk, 'attribute_not_exists(reservations.#run)'));
      await expect(days.reserve(pk, 'd', 'r1', 100, 1_000)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(throttle.fired).toBe(1);
      expect(await raw(pk)).toBeUndefined();
    });

    it('Given another submission creates the day with room left just before the first write, When the run reserves, Then it looks again and is reserved', async () => {
      const pk = freshDay();
      const { days, faults } = faulty();
      const race = faults.before(onDay(pk, 'attribute_not_exists(reservations.#run)'), async () => {
        await real().reserve(pk, 'd', 'other', 300, 1_000);
      });
      await expect(days.reserve(pk, 'd', 'r1', 700, 1_000)).resolves.toBe(true);
      expect(race.fired).toBe(1);
      expect(await raw(pk)).toMatchObject({ committedMicros: 1_000, reservations: { other: 300, r1: 700 } });
    });

    it('Given other runs create the day and then take its room while the run looks again, When the run reserves, Then it decides again and is refused', async () => {
      const pk = freshDay();
      const { days, faults } = faulty();
      // No day item: the first write fails; before the read, another run creates the day leaving room;
      // the run tries again, and just before that write a third run takes the room it needed.
      const first = faults.before({ command: GetCommand, table: db.names.control, key: { pk } }, async () => {
        await real().reserve(pk, 'd', 'a', 300, 1_000);
      });
      const second = faults.before(
        onDay(pk, 'attribute_not_exists(reservations.#run)'),
        async () => {
          await real().reserve(pk, 'd', 'b', 300, 1_000);
        },
        { nth: 2 },
      );
      await expect(days.reserve(pk, 'd', 'r1', 600, 1_000)).resolves.toBe(false);
      expect(first.fired).toBe(1);
      expect(second.fired).toBe(1);
      expect(await raw(pk)).toMatchObject({ committedMicros: 600, reservations: { a: 300, b: 300 } });
    });

    it("Given another submission creates the day leaving exactly the run's budget as room after the first write failed, When the run reserves, Then it looks again and fills the day", async () => {
      const pk = freshDay();
      const { days, faults } = faulty();
      const race = faults.before({ command: GetCommand, table: db.names.control, key: { pk } }, async () => {
        await real().reserve(pk, 'd', 'a', 300, 1_000);
      });
      await expect(days.reserve(pk, 'd', 'r1', 700, 1_000)).resolves.toBe(true);
      expect(race.fired).toBe(1);
      expect(await raw(pk)).toMatchObject({ committedMicros: 1_000, reservations: { a: 300, r1: 700 } });
    });

    it('Given a write that lost a race, When the run reserves, Then it reads the day again with a consistent read', async () => {
      const pk = freshDay();
      const { days, faults } = faulty();
      await days.reserve(pk, 'd', 'r1', 100, 1_000);
      const get = { command: GetCommand, table: db.names.control, key: { pk } };
      expect(faults.sentCount(get)).toBe(1);
      expect(faults.sentCount({ ...get, where: (input) => input.ConsistentRead === true })).toBe(1);
    });

    it('Given a run reserved with another budget, When it reserves again, Then the error is named a ledger inconsistency', async () => {
      const pk = freshDay();
      await real().reserve(pk, 'd', 'r1', 700, 1_000);
      await expect(real().reserve(pk, 'd', 'r1', 300, 1_000)).rejects.toMatchObject({ name: 'LedgerInconsistencyError' });
    });

    it('Given the same run reserves from a retried submit just before the first write, When the run reserves, Then the reservation stands once', async () => {
      const pk = freshDay();
      const { days, faults } = faulty();
      const race = faults.before(onDay(pk, 'attribute_not_exists(reservations.#run)'), async () => {
        await real().reserve(pk, 'd', 'r1', 400, 1_000);
      });
      await expect(days.reserve(pk, 'd', 'r1', 400, 1_000)).resolves.toBe(true);
      expect(race.fired).toBe(1);
      expect(await raw(pk)).toMatchObject({ committedMicros: 400, reservations: { r1: 400 } });
    });

    it('Given the old-format refund of the run is written just before its write, When the run reserves, Then it is refused as finished, never charged', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 0, reservations: {} });
      const { days, faults } = faulty();
      const race = faults.before(onDay(pk, 'attribute_not_exists(reservations.#run)'), async (doc) => {
        await doc.send(
          new PutCommand({ TableName: db.names.control, Item: { pk, committedMicros: 0, reservations: {}, refunds: { r1: 100 } } }),
        );
      });
      await expect(days.reserve(pk, 'd', 'r1', 100, 1_000)).rejects.toThrow(/already has a different or finished reservation/);
      expect(race.fired).toBe(1);
      expect((await raw(pk))?.committedMicros).toBe(0);
    });

    it('Given the day item is deleted before every reservation write, When the run reserves, Then it gives up with an inconsistency after its attempts', async () => {
      const pk = freshDay();
      const { days, faults } = faulty();
      const reserveWrite = onDay(pk, 'attribute_not_exists(reservations.#run)');
      for (let nth = 1; nth <= 20; nth += 1)
        faults.before(
          reserveWrite,
          async (doc) => {
            await doc.send(new DeleteCommand({ TableName: db.names.control, Key: { pk } }));
          },
          { nth },
        );
      await expect(days.reserve(pk, 'd', 'r1', 100, 1_000)).rejects.toThrow(/could not reserve/);
      expect(faults.sentCount(reserveWrite)).toBe(20);
    });

    it('Given the item read after a failed write is throttled, When the run reserves, Then the fault is thrown', async () => {
      const pk = freshDay();
      const { days, faults } = faulty();
      faults.throttle({ command: GetCommand, table: db.names.control, key: { pk } });
      await expect(days.reserve(pk, 'd', 'r1', 100, 1_000)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    });
  });

  describe('endReservation', () => {
    it('Given a reserved run, When its reservation ends with a refund, Then the day moves by the delta and the entry is gone; When it ends again, Then it is missing and the day is unchanged', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 300, 1_000);
      await expect(days.endReservation(pk, 'r1', 300, -100, [])).resolves.toBe('ended');
      expect(await raw(pk)).toMatchObject({ committedMicros: 200, reservations: {} });
      await expect(days.endReservation(pk, 'r1', 300, -100, [])).resolves.toBe('missing');
      expect((await raw(pk))?.committedMicros).toBe(200);
    });

    it('Given a run refunded in the old format, When its reservation ends, Then it says ended in the old format and the day is unchanged', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 50, reservations: { r1: 300 }, refunds: { r1: 300 } });
      await expect(real().endReservation(pk, 'r1', 300, -300, [])).resolves.toBe('ended-in-old-format');
      expect(await raw(pk)).toMatchObject({ committedMicros: 50, reservations: { r1: 300 } });
    });

    it('Given the day holds another amount for the run and no extension explains it, When its reservation ends, Then the ledger refuses to guess', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 500, reservations: { r1: 500 } });
      await expect(real().endReservation(pk, 'r1', 300, 0, [])).rejects.toThrow(/holds 500 micro-USD/);
      expect(await raw(pk)).toMatchObject({ committedMicros: 500, reservations: { r1: 500 } });
    });

    it('Given a taken extension, When the reservation ends with it, Then the extension entry is removed with the reservation', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 300, 1_000);
      await days.reserve(pk, 'd', 'r10', 10, 1_000);
      await days.extend(pk, 'r10', 'r10#x', 5, 1_000);
      await expect(days.extend(pk, 'r1', 'r1#e1', 50, 1_000)).resolves.toBe('extended');
      await expect(days.endReservation(pk, 'r1', 350, -350, ['e1'])).resolves.toBe('ended');
      expect(await raw(pk)).toMatchObject({ committedMicros: 15, reservations: { r10: 15 }, extensions: { 'r10#x': 5 } });
    });

    it('Given two taken extensions, When the reservation ends with them, Then both entries are removed with the reservation', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 300, 1_000);
      await days.extend(pk, 'r1', 'r1#e1', 50, 1_000);
      await days.extend(pk, 'r1', 'r1#e2', 20, 1_000);
      await expect(days.endReservation(pk, 'r1', 370, -370, ['e1', 'e2'])).resolves.toBe('ended');
      expect(await raw(pk)).toMatchObject({ committedMicros: 0, reservations: {}, extensions: {} });
    });

    it('Given no day item, When a reservation ends, Then it is missing and no day item is created', async () => {
      const pk = freshDay();
      await expect(real().endReservation(pk, 'r1', 300, 0, [])).resolves.toBe('missing');
      expect(await raw(pk)).toBeUndefined();
    });

    it('Given an extension on the day the run never took, When its reservation ends, Then the extension is taken off first and the reservation ends once', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 300, 1_000);
      await days.reserve(pk, 'd', 'r10', 10, 1_000);
      await days.extend(pk, 'r10', 'r10#x', 5, 1_000);
      await days.extend(pk, 'r1', 'r1#e1', 50, 1_000);
      await days.extend(pk, 'r1', 'r1#e2', 20, 1_000);
      await expect(days.endReservation(pk, 'r1', 320, -120, ['e2'])).resolves.toBe('ended');
      // 300 + 50 + 20 + 15, minus the stray 50, minus the delta 120.
      expect(await raw(pk)).toMatchObject({ committedMicros: 215, reservations: { r10: 15 }, extensions: { 'r10#x': 5 } });
    });

    it('Given the end write is throttled, When the reservation ends, Then the fault is thrown and the reservation stands', async () => {
      const pk = freshDay();
      await real().reserve(pk, 'd', 'r1', 300, 1_000);
      const { days, faults } = faulty();
      faults.throttle(onDay(pk, 'reservations.#run = :reserved'));
      await expect(days.endReservation(pk, 'r1', 300, 0, [])).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(await raw(pk)).toMatchObject({ committedMicros: 300, reservations: { r1: 300 } });
    });

    it('Given a stray extension comes back before every end write, When the reservation ends, Then it gives up with an inconsistency after its attempts', async () => {
      const pk = freshDay();
      await real().reserve(pk, 'd', 'r1', 300, 1_000);
      const { days, faults } = faulty();
      const endWrite = onDay(pk, 'reservations.#run = :reserved');
      for (let nth = 1; nth <= 20; nth += 1)
        faults.before(
          endWrite,
          async () => {
            await real().extend(pk, 'r1', `r1#s${nth}`, 1, 1_000);
          },
          { nth },
        );
      await expect(days.endReservation(pk, 'r1', 300, 0, [])).rejects.toThrow(/could not end its reservation/);
      expect(faults.sentCount(endWrite)).toBe(20);
    });
  });

  describe('extend', () => {
    it('Given a reserved run, When an extension that fills the day exactly is asked twice, Then it is extended and counted once', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 600, 1_000);
      await expect(days.extend(pk, 'r1', 'r1#e', 400, 1_000)).resolves.toBe('extended');
      await expect(days.extend(pk, 'r1', 'r1#e', 400, 1_000)).resolves.toBe('extended');
      expect(await raw(pk)).toMatchObject({ committedMicros: 1_000, reservations: { r1: 1_000 }, extensions: { 'r1#e': 400 } });
    });

    it('Given a reserved run, When an extension over the day limit is asked, Then it is refused and the day is unchanged', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 600, 1_000);
      await expect(days.extend(pk, 'r1', 'r1#e', 401, 1_000)).resolves.toBe('refused');
      expect(await raw(pk)).toMatchObject({ committedMicros: 600, reservations: { r1: 600 }, extensions: {} });
    });

    it('Given a run with no reservation on the day, When it asks an extension, Then the answer is ended', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'other', 100, 1_000);
      await expect(days.extend(pk, 'r1', 'r1#e', 1, 1_000)).resolves.toBe('ended');
      expect(await raw(pk)).toMatchObject({ committedMicros: 100, reservations: { other: 100 } });
    });

    it('Given a run refunded in the old format with its entry kept, When it asks an extension, Then the answer is ended and the day is unchanged', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 100, reservations: { r1: 100 }, refunds: { r1: 100 } });
      await expect(real().extend(pk, 'r1', 'r1#e', 1, 1_000)).resolves.toBe('ended');
      expect(await raw(pk)).toMatchObject({ committedMicros: 100, reservations: { r1: 100 } });
    });

    it('Given the run settles between the two extension writes, When it asks an extension, Then the answer is ended', async () => {
      const pk = freshDay();
      await real().reserve(pk, 'd', 'r1', 100, 1_000);
      const { days, faults } = faulty();
      const race = faults.before(onDay(pk, 'attribute_not_exists(extensions.#key)'), async () => {
        await real().endReservation(pk, 'r1', 100, 0, []);
      });
      await expect(days.extend(pk, 'r1', 'r1#e', 1, 1_000)).resolves.toBe('ended');
      expect(race.fired).toBe(1);
      expect((await raw(pk))?.committedMicros).toBe(100);
    });

    it('Given the day item is deleted between the two extension writes, When the run asks an extension, Then the answer is ended', async () => {
      const pk = freshDay();
      await real().reserve(pk, 'd', 'r1', 100, 1_000);
      const { days, faults } = faulty();
      const race = faults.before(onDay(pk, 'attribute_not_exists(extensions.#key)'), async (doc) => {
        await doc.send(new DeleteCommand({ TableName: db.names.control, Key: { pk } }));
      });
      await expect(days.extend(pk, 'r1', 'r1#e', 1, 1_000)).resolves.toBe('ended');
      expect(race.fired).toBe(1);
    });

    it('Given the run settles and its day loses the extensions map between the two extension writes, When the run asks an extension, Then the answer is ended', async () => {
      const pk = freshDay();
      await real().reserve(pk, 'd', 'r1', 100, 1_000);
      const { days, faults } = faulty();
      const race = faults.before(onDay(pk, 'attribute_not_exists(extensions.#key)'), async (doc) => {
        await real().endReservation(pk, 'r1', 100, 0, []);
        await doc.send(new UpdateCommand({ TableName: db.names.control, Key: { pk }, UpdateExpression: 'REMOVE extensions' }));
      });
      await expect(days.extend(pk, 'r1', 'r1#e', 1, 1_000)).resolves.toBe('ended');
      expect(race.fired).toBe(1);
      expect((await raw(pk))?.committedMicros).toBe(100);
    });

    it.each([
      ['the first', 'SET extensions = if_not_exists'],
      ['the second', 'attribute_not_exists(extensions.#key)'],
    ])('Given %s extension write is throttled, When the run asks an extension, Then the fault is thrown', async (_, fragment) => {
      const pk = freshDay();
      await real().reserve(pk, 'd', 'r1', 100, 1_000);
      const { days, faults } = faulty();
      faults.throttle({
        command: UpdateCommand,
        table: db.names.control,
        key: { pk },
        where: (input) =>
          String(input.UpdateExpression ?? input.ConditionExpression).includes(fragment) ||
          String(input.ConditionExpression).includes(fragment),
      });
      await expect(days.extend(pk, 'r1', 'r1#e', 1, 1_000)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect((await raw(pk))?.committedMicros).toBe(100);
    });
  });

  describe('undoExtension', () => {
    it('Given an extension on the day, When it is undone twice, Then it is taken off once', async () => {
      const pk = freshDay();
      const days = real();
      await days.reserve(pk, 'd', 'r1', 100, 1_000);
      await days.extend(pk, 'r1', 'r1#e', 30, 1_000);
      await days.undoExtension(pk, 'r1', 'r1#e', 30);
      await days.undoExtension(pk, 'r1', 'r1#e', 30);
      expect(await raw(pk)).toMatchObject({ committedMicros: 100, reservations: { r1: 100 }, extensions: {} });
    });

    it('Given the undo write is throttled, When the extension is undone, Then the fault is thrown and the extension stands', async () => {
      const pk = freshDay();
      await real().reserve(pk, 'd', 'r1', 100, 1_000);
      await real().extend(pk, 'r1', 'r1#e', 30, 1_000);
      const { days, faults } = faulty();
      faults.throttle(onDay(pk, 'extensions.#key = :micros'));
      await expect(days.undoExtension(pk, 'r1', 'r1#e', 30)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect((await raw(pk))?.committedMicros).toBe(130);
    });
  });

  describe('applyLate', () => {
    it('Given a settled run, When a late cost is applied twice, Then the day counts it once, the run records it once and no marker is left', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 100, reservations: {} });
      const run = lateRun();
      const days = real();
      await days.applyLate(pk, 'r1#1', 40, run);
      await days.applyLate(pk, 'r1#1', 40, run);
      expect(run.marks).toBe(1);
      expect(await raw(pk)).toMatchObject({ committedMicros: 140, late: {}, lateSeq: 1 });
    });

    it('Given a late cost of zero, When it is applied, Then neither the day nor the run is touched', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 100, reservations: {} });
      const run = lateRun();
      await real().applyLate(pk, 'r1#1', 0, run);
      expect([run.asks, run.marks]).toEqual([0, 0]);
      expect(await raw(pk)).toEqual({ pk, committedMicros: 100, reservations: {} });
    });

    it('Given a day with no item, When a late cost is applied, Then the write is refused and no day item is created', async () => {
      const pk = freshDay();
      await expect(real().applyLate(pk, 'r1#1', 40, lateRun())).rejects.toBeInstanceOf(ConditionalCheckFailedException);
      expect(await raw(pk)).toBeUndefined();
    });

    it('Given a late cost adjusted in the old format, When it is applied, Then the day is unchanged and the run is not asked', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 100, reservations: {}, adjustments: { 'r1#1': 40 } });
      const run = lateRun();
      await real().applyLate(pk, 'r1#1', 40, run);
      expect(run.asks).toBe(0);
      expect(await raw(pk)).toMatchObject({ committedMicros: 100 });
    });

    it('Given the run already records the cost and the marker was left, When it is applied, Then the marker is removed and the day is not charged again', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 140, reservations: {}, late: { 'r1#1': 40 }, lateSeq: 3 });
      const run = lateRun(true);
      await real().applyLate(pk, 'r1#1', 40, run);
      expect(run.marks).toBe(0);
      expect(await raw(pk)).toMatchObject({ committedMicros: 140, late: {}, lateSeq: 4 });
    });

    it('Given an apply stopped after adding the cost, When it is applied again, Then the run records it and the day is not charged twice', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 140, reservations: {}, late: { 'r1#1': 40 }, lateSeq: 0 });
      const run = lateRun();
      await real().applyLate(pk, 'r1#1', 40, run);
      expect(run.marks).toBe(1);
      expect(await raw(pk)).toMatchObject({ committedMicros: 140, late: {}, lateSeq: 1 });
    });

    it('Given a marker of another amount, When the late cost is applied, Then the ledger refuses to guess', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 140, reservations: {}, late: { 'r1#1': 40 } });
      const run = lateRun();
      await expect(real().applyLate(pk, 'r1#1', 50, run)).rejects.toThrow(/is 40 micro-USD, the run says 50/);
      expect(run.marks).toBe(0);
      expect((await raw(pk))?.committedMicros).toBe(140);
    });

    it("Given another entry's cleanup bumps the sequence between the read and the write, When the late cost is applied, Then it looks again and counts it once", async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 100, reservations: {}, late: {}, lateSeq: 0 });
      const { days, faults } = faulty();
      const race = faults.before(onDay(pk, 'lateSeq = :seq'), async () => {
        await real().applyLate(pk, 'r2#1', 5, lateRun());
      });
      const run = lateRun();
      await days.applyLate(pk, 'r1#1', 40, run);
      expect(race.fired).toBe(1);
      expect(run.marks).toBe(1);
      expect(await raw(pk)).toMatchObject({ committedMicros: 145, late: {}, lateSeq: 2 });
    });

    it('Given the sequence moves before every write, When the late cost is applied, Then it gives up with an inconsistency after its attempts', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 100, reservations: {}, late: {}, lateSeq: 0 });
      const { days, faults } = faulty();
      const lateWrite = onDay(pk, 'lateSeq = :seq');
      for (let nth = 1; nth <= 20; nth += 1)
        faults.before(
          lateWrite,
          async (doc) => {
            await doc.send(
              new UpdateCommand({
                TableName: db.names.control,
                Key: { pk },
                UpdateExpression: 'SET lateSeq = lateSeq + :one',
                ExpressionAttributeValues: { ':one': 1 },
              }),
            );
          },
          { nth },
        );
      await expect(days.applyLate(pk, 'r1#1', 40, lateRun())).rejects.toThrow(/could not be applied/);
      expect(faults.sentCount(lateWrite)).toBe(20);
      expect((await raw(pk))?.committedMicros).toBe(100);
    });

    it.each([
      ['the write that adds it', 'lateSeq = :seq'],
      ['the marker removal', 'late.#key = :micros'],
    ])('Given %s is throttled, When a late cost is applied, Then the fault is thrown', async (_, fragment) => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 100, reservations: {} });
      const { days, faults } = faulty();
      const throttle = faults.throttle(onDay(pk, fragment));
      await expect(days.applyLate(pk, 'r1#1', 40, lateRun())).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(throttle.fired).toBe(1);
    });

    it('Given the marker is removed by a concurrent apply of the same entry, When the late cost is applied, Then it ends quietly, counted once', async () => {
      const pk = freshDay();
      await seed(pk, { committedMicros: 100, reservations: {} });
      const { days, faults } = faulty();
      const race = faults.before(onDay(pk, 'late.#key = :micros'), async () => {
        await real().applyLate(pk, 'r1#1', 40, lateRun(true));
      });
      await days.applyLate(pk, 'r1#1', 40, lateRun());
      expect(race.fired).toBe(1);
      expect(await raw(pk)).toMatchObject({ committedMicros: 140, late: {}, lateSeq: 1 });
    });
  });
});
