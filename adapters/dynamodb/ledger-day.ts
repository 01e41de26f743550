import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type ItemUpdate, updateCommand, written } from './item-update';

/**
 * One day's counter of committed spend (the org's day, or a requester's day), kept small whatever the
 * number of runs in the day: it holds `committedMicros` (what active runs reserved plus what settled
 * runs spent) and entries of the runs that are still active, never a record of the runs that finished.
 * Single-item conditional writes only (dynalite has no transactions). docs/data-model.md, "Day items",
 * explains why each write is applied exactly once.
 *
 *   committedMicros       the running sum the daily limit is checked against
 *   reservations.<runId>  an unsettled run's reservation (its budget, extensions included): written
 *                         once at submit, removed once, in the write that settles the run on this day
 *   extensions.<runId#id> an approved extension while its run is active (removed with the reservation)
 *   late.<runId#entry>    a cost recorded after the run settled, while it is being applied (seconds)
 *   lateSeq               bumped whenever a `late` entry is removed (see `applyLate`)
 *
 * Day items written before this format (2026-12) also hold `refunds` and `adjustments` maps, one entry
 * per finished run; they are still honoured (never refunded or adjusted twice) and no longer grow.
 */

export const DayItem = z.object({
  committedMicros: z.number().int(),
  reservations: z.record(z.string(), z.number().int().nonnegative()).default({}),
  extensions: z.record(z.string(), z.number().int().nonnegative()).optional(),
  late: z.record(z.string(), z.number().int()).optional(),
  lateSeq: z.number().int().nonnegative().optional(),
  /** Old format (before 2026-12): runId -> refunded micros, kept forever. */
  refunds: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Old format (before 2026-12): `runId#entry` -> micros, kept forever. */
  adjustments: z.record(z.string(), z.number().int()).optional(),
});
export type DayItem = z.infer<typeof DayItem>;

/** The ledger found state it can only reach through a bug or a manual edit; it refuses to guess about money. */
export class LedgerInconsistencyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerInconsistencyError';
  }
}

/** How the run's side of a late cost is recorded: `applied` says whether this day already counts it. */
export interface LateCostRun {
  applied(): Promise<boolean>;
  markApplied(): Promise<void>;
}

/** A write that lost a race (another entry's cleanup, the day's item created meanwhile) is tried again, this often at most. */
const maxLateAttempts = 20;

export function createLedgerDays(doc: DynamoDBDocumentClient, table: string) {
  async function get(pk: string): Promise<DayItem | undefined> {
    const { Item } = await doc.send(new GetCommand({ TableName: table, Key: { pk }, ConsistentRead: true }));
    return Item ? DayItem.parse(Item) : undefined;
  }

  /** One UpdateItem on day `pk`. */
  async function update(pk: string, write: ItemUpdate): Promise<void> {
    await doc.send(updateCommand(table, { pk }, write));
  }

  /**
   * Adds `micros` to the day and to the run's reservation, on condition that the day keeps room for
   * them under `limit` (committed + micros <= limit, rearranged because conditions have no arithmetic).
   * `condition` and `set` say what else the write checks and records; false when the condition refused it.
   */
  function addIfRoom(pk: string, write: { condition: string; set: string; names: Record<string, string>; micros: number; limit: number }) {
    return written(
      update(pk, {
        condition: `${write.condition} AND committedMicros <= :room`,
        update: `SET committedMicros = committedMicros + :micros, ${write.set}`,
        names: write.names,
        values: { ':room': write.limit - write.micros, ':micros': write.micros },
      }),
    );
  }

  /** Creates the counter and the reservation map if absent (a nested map key cannot be set on a missing map). */
  async function ensure(pk: string, day: string): Promise<void> {
    await update(pk, {
      update:
        'SET committedMicros = if_not_exists(committedMicros, :zero), reservations = if_not_exists(reservations, :empty), #day = :day',
      names: { '#day': 'day' },
      values: { ':zero': 0, ':empty': {}, ':day': day },
    });
  }

  /**
   * Adds the run's reservation to the day if it fits; false when the day's limit refuses it. Idempotent
   * while the run is active; a run id is reserved once, before its run item exists, so it is never
   * reserved again after its entry is gone.
   */
  async function reserve(pk: string, day: string, runId: string, micros: number, limit: number): Promise<boolean> {
    if (micros > limit) return false;
    // One write in the steady state: the day's item is created (a second write) only by its first run.
    for (let attempt = 0; attempt < maxLateAttempts; attempt += 1) {
      const reserved = addIfRoom(pk, {
        condition: 'attribute_not_exists(reservations.#run) AND attribute_not_exists(refunds.#run)',
        set: 'reservations.#run = :micros',
        names: { '#run': runId },
        micros,
        limit,
      });
      if (await reserved) return true;
      const current = await get(pk);
      if (current === undefined) {
        await ensure(pk, day);
        continue;
      }
      const onDay = current.reservations[runId];
      if (onDay === undefined && current.refunds?.[runId] === undefined) {
        // Refused by the limit, or the write found no item that another submission created since: look again.
        if (current.committedMicros > limit - micros) return false;
        continue;
      }
      // The run reserved on this day before (a retried submit): the same reservation stands, once.
      if (onDay !== micros) throw new LedgerInconsistencyError(`run ${runId} already has a different or finished reservation on ${pk}`);
      return true;
    }
    throw new LedgerInconsistencyError(`run ${runId} could not reserve on ${pk}`);
  }

  /**
   * Ends the run's reservation on the day, once: removes its entry (and its extensions' entries) and
   * moves `committedMicros` by `delta` (what the run holds now minus what it reserved) in the same
   * conditional write. The write is pinned to the reservation `reservedMicros`, so it happens at most
   * once; an extension the run never took (it settled first) is taken off the day before.
   * Returns 'ended' when this call ended it, 'ended-in-old-format' when the previous format refunded it
   * (its `refunds` marker), 'missing' when there is no entry: ended before, or never reserved.
   */
  async function endReservation(
    pk: string,
    runId: string,
    reservedMicros: number,
    delta: number,
    takenExtensions: string[],
  ): Promise<'ended' | 'ended-in-old-format' | 'missing'> {
    for (let attempt = 0; attempt < maxLateAttempts; attempt += 1) {
      const extensionNames = Object.fromEntries(takenExtensions.map((id, i) => [`#x${i}`, `${runId}#${id}`]));
      const removeExtensions = takenExtensions.map((_, i) => `, extensions.#x${i}`).join('');
      const ended = update(pk, {
        condition: 'reservations.#run = :reserved AND attribute_not_exists(refunds.#run)',
        update: `SET committedMicros = committedMicros + :delta REMOVE reservations.#run${removeExtensions}`,
        names: { '#run': runId, ...extensionNames },
        values: { ':reserved': reservedMicros, ':delta': delta },
      });
      // Stryker disable next-line StringLiteral: equivalent, callers tell only 'ended-in-old-format' apart from the rest
      if (await written(ended)) return 'ended';
      const current = await get(pk);
      const onDay = current?.reservations[runId];
      if (current?.refunds?.[runId] !== undefined) return 'ended-in-old-format'; // refunded, entry kept
      // Stryker disable next-line StringLiteral: equivalent, callers tell only 'ended-in-old-format' apart from the rest
      if (onDay === undefined) return 'missing';
      // Extensions on the day the run never took: its extendRun lost the race with settle (or crashed).
      // Stryker disable next-line OptionalChaining: equivalent, `onDay` is defined here, so `current` is defined
      const stray = Object.entries(current?.extensions ?? {}).filter(
        ([key]) => key.startsWith(`${runId}#`) && !takenExtensions.includes(key.slice(runId.length + 1)),
      );
      if (stray.length === 0)
        throw new LedgerInconsistencyError(`run ${runId} holds ${onDay} micro-USD on ${pk}, its run says ${reservedMicros}`);
      for (const [key, micros] of stray) await undoExtension(pk, runId, key, micros);
    }
    throw new LedgerInconsistencyError(`run ${runId} could not end its reservation on ${pk}`);
  }

  /**
   * Adds an extension to the run's reservation if the day's limit takes it, once per extension key:
   * 'refused' by the limit, 'ended' when the run's reservation is gone (it settled meanwhile).
   */
  async function extend(pk: string, runId: string, key: string, micros: number, limit: number): Promise<'extended' | 'refused' | 'ended'> {
    const stillReserved = update(pk, {
      condition: 'attribute_exists(reservations.#run)',
      update: 'SET extensions = if_not_exists(extensions, :empty)',
      names: { '#run': runId },
      values: { ':empty': {} },
    });
    if (!(await written(stillReserved))) return 'ended';
    const extended = addIfRoom(pk, {
      condition: 'attribute_exists(reservations.#run) AND attribute_not_exists(extensions.#key) AND attribute_not_exists(refunds.#run)',
      set: 'reservations.#run = reservations.#run + :micros, extensions.#key = :micros',
      names: { '#run': runId, '#key': key },
      micros,
      limit,
    });
    if (await extended) return 'extended';
    const current = await get(pk);
    if (current?.extensions?.[key] === micros) return 'extended';
    return current?.reservations[runId] === undefined || current.refunds?.[runId] !== undefined ? 'ended' : 'refused';
  }

  /** Takes an extension back off the day (the run could not take it after all); once, by its entry. */
  async function undoExtension(pk: string, runId: string, key: string, micros: number): Promise<void> {
    // A failed condition: taken back before, or the reservation ended with it.
    await written(
      update(pk, {
        condition: 'extensions.#key = :micros AND attribute_exists(reservations.#run)',
        update: 'SET committedMicros = committedMicros - :micros, reservations.#run = reservations.#run - :micros REMOVE extensions.#key',
        names: { '#run': runId, '#key': key },
        values: { ':micros': micros },
      }),
    );
  }

  /** Reads the day through UpdateItem (the runner may update the days but not read them). */
  async function touchLate(pk: string): Promise<DayItem> {
    const touch = updateCommand(
      table,
      { pk },
      {
        // The day exists (the run reserved on it); never create a stray one.
        condition: 'attribute_exists(committedMicros)',
        update: 'SET late = if_not_exists(late, :empty), lateSeq = if_not_exists(lateSeq, :zero)',
        values: { ':empty': {}, ':zero': 0 },
        returnItem: true,
      },
    );
    return DayItem.parse((await doc.send(touch)).Attributes);
  }

  /**
   * Moves the day by a cost recorded after its run settled (`key` = runId#entry), exactly once, with
   * no lasting marker on the day. Four steps: (1) read `lateSeq`, (2) ask the run whether this day
   * already counts the entry, (3) add it with a `late` marker, on condition that `lateSeq` is unchanged
   * and no marker is there, (4) record it on the run, then remove the marker and bump `lateSeq`.
   * A marker is only removed after the run records the entry, and its removal bumps `lateSeq`, so an
   * apply that read the run before another apply finished fails its condition instead of counting twice.
   */
  async function applyLate(pk: string, key: string, micros: number, run: LateCostRun): Promise<void> {
    if (micros === 0) return;
    for (let attempt = 0; attempt < maxLateAttempts; attempt += 1) {
      const day = await touchLate(pk);
      // Old format: applied before the change, and the marker kept.
      if (day.adjustments?.[key] !== undefined) return;
      // Stryker disable next-line OptionalChaining: equivalent, `touchLate` sets `late` when absent and returns the item as written
      const marker = day.late?.[key];
      if (await run.applied()) {
        if (marker !== undefined) await removeLate(pk, key, marker);
        return;
      }
      if (marker === undefined) {
        const added = update(pk, {
          condition: 'lateSeq = :seq AND attribute_not_exists(late.#key) AND attribute_not_exists(adjustments.#key)',
          update: 'SET committedMicros = committedMicros + :micros, late.#key = :micros',
          names: { '#key': key },
          values: { ':seq': day.lateSeq ?? 0, ':micros': micros },
        });
        if (!(await written(added))) continue; // another apply or cleanup moved the day since step 1: look again
      } else if (marker !== micros) {
        throw new LedgerInconsistencyError(`late cost ${key} on ${pk} is ${marker} micro-USD, the run says ${micros}`);
      }
      // Applied (by us, or by an apply that stopped before recording it): record, then clean up.
      await run.markApplied();
      await removeLate(pk, key, micros);
      return;
    }
    throw new LedgerInconsistencyError(`late cost ${key} could not be applied to ${pk}`);
  }

  async function removeLate(pk: string, key: string, micros: number): Promise<void> {
    // A failed condition: removed by a concurrent apply of the same entry.
    await written(
      update(pk, {
        condition: 'late.#key = :micros',
        update: 'SET lateSeq = lateSeq + :one REMOVE late.#key',
        names: { '#key': key },
        values: { ':micros': micros, ':one': 1 },
      }),
    );
  }

  return { get, reserve, endReservation, extend, undoExtension, applyLate };
}
