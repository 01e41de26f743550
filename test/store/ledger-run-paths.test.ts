import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { withDynalite } from '../support/dynalite';
import type { CommandMatch } from '../support/dynamo-faults';
import { daysOf, ledgerItems, ledgersOver, usage } from '../support/ledger-items';
import { rejection } from '../support/rejection';

/**
 * The re-read branches of adapters/dynamodb/ledger-run.ts that only a write from outside the ledger,
 * or a writer stopped half-way, can reach (found by `npm run mutation -- --mutate
 * adapters/dynamodb/ledger-run.ts`): a charge's first write refused by an entry gone by the read, a
 * late charge another writer recorded on the run but not yet on its days, and a dropped call whose
 * recorded worst case changed under its late settle. Against dynalite; each race checks it fired.
 */

const clock = () => new Date('2030-01-02T23:59:00.000Z');

describe('the run ledger`s re-reads', () => {
  const db = withDynalite();
  const { committed, rawRun, editRun } = ledgerItems(db);
  const { real, faulty, submitted } = ledgersOver(db, clock);
  const onRun = (runId: string, fragment: string): CommandMatch => ({
    command: UpdateCommand,
    table: db.names.runs,
    key: { runId },
    where: (input) => String(input.ConditionExpression ?? '').includes(fragment),
  });

  it('Given a charge, When its first write is refused by an entry of that charge that is gone again by the read after it, Then the next round records it, once', async () => {
    const run = await submitted({ requester: 'run-paths-1', ledgerDay: '2034-01-01', budgetMicros: 1_000_000 });
    const { ledger, faults } = faulty();
    const put = faults.before(onRun(run.runId, 'attribute_not_exists(charges.#charge)'), () =>
      editRun(run.runId, 'SET charges.compute = :stray', { ':stray': 5 }),
    );
    const removed = faults.before({ command: GetCommand, table: db.names.runs, key: { runId: run.runId } }, () =>
      editRun(run.runId, 'REMOVE charges.compute'),
    );
    await ledger.charge(run.runId, 'compute', 40_000);
    expect([put.fired, removed.fired]).toEqual([1, 1]);
    expect(await rawRun(run.runId)).toMatchObject({ charges: { compute: 40_000 }, spentMicros: 40_000, headroomMicros: 960_000 });
  });

  it('Given a settled run, When another writer records the same late charge on the run but stops before the days just before this charge`s write, Then this charge moves each day by it, once', async () => {
    const run = await submitted({ requester: 'run-paths-2', ledgerDay: '2034-01-02', budgetMicros: 1_000_000 });
    await real().settleRun(run.runId);
    const { ledger, faults } = faulty();
    const race = faults.before(onRun(run.runId, 'settled = :true AND attribute_not_exists(charges.#charge)'), async () => {
      const other = faulty();
      other.faults.throttle({ command: UpdateCommand, table: db.names.control });
      await expect(other.ledger.charge(run.runId, 'late', 40_000)).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    });
    await ledger.charge(run.runId, 'late', 40_000);
    expect(race.fired).toBe(1);
    expect(await rawRun(run.runId)).toMatchObject({ charges: { late: 40_000 }, spentMicros: 40_000 });
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(40_000);
  });

  it('Given a dropped call whose recorded worst case is changed from outside the ledger under its late settle, When it settles, Then the settle fails rather than answer as if it counted, and nothing is spent', async () => {
    const run = await submitted({ requester: 'run-paths-3', ledgerDay: '2034-01-03', budgetMicros: 1_000_000 });
    await real().reserveCall(run.runId, 'c1', 10_000);
    await real().settleRun(run.runId);
    const { ledger, faults } = faulty();
    const race = faults.before(onRun(run.runId, 'droppedCalls.#call = :dropped'), () =>
      editRun(run.runId, 'SET droppedCalls.c1 = :changed', { ':changed': 12_000 }),
    );
    const error = await rejection(ledger.settleCall(run.runId, 'c1', 7_000, usage(1, 1)));
    expect(race.fired).toBe(1);
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(await rawRun(run.runId)).toMatchObject({ spentMicros: 0, settledCalls: {}, droppedCalls: { c1: 12_000 } });
    for (const pk of Object.values(daysOf(run))) expect(await committed(pk)).toBe(10_000);
  });
});
