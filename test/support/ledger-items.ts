import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createStore } from '../../adapters/dynamodb';
import { controlItemKey } from '../../adapters/dynamodb/tables';
import type { BudgetLedgerPort, DailyLimits, RunRecord } from '../../core/store/ports';
import { queuedRun } from '../store/run-fixtures';
import type { DynaliteHarness } from './dynalite';
import { type DynamoFaults, withFaults } from './dynamo-faults';

/** A model call's token usage with no cache reads or writes. */
export const usage = (input: number, output: number) => ({ input, output, cacheRead: 0, cacheWrite: 0 });

/** Daily limits no test run comes near. */
export const generousLimits: DailyLimits = { requesterDailyMicros: 1_000_000_000, orgDailyMicros: 1_000_000_000 };

/**
 * The ledgers a ledger test drives over dynalite on clock `now`: `real()` straight on it (also the
 * competing writer), `faulty()` over a fault-injecting client with the hooks to fault or race its
 * writes, and `submitted(overrides)`, a queued run as submit leaves it (reserved on its two days, stored).
 */
export function ledgersOver(db: Pick<DynaliteHarness, 'doc' | 'names'>, now: () => Date) {
  const real = (): BudgetLedgerPort => createStore(db.doc, db.names, { now }).ledger;
  function faulty(): { ledger: BudgetLedgerPort; faults: DynamoFaults } {
    const faults = withFaults(db.doc);
    return { ledger: createStore(faults.doc, db.names, { now }).ledger, faults };
  }
  async function submitted(overrides: Partial<RunRecord>, limits: DailyLimits = generousLimits): Promise<RunRecord> {
    const run = queuedRun(overrides);
    await real().reserveRun({ runId: run.runId, requester: run.requester, day: run.ledgerDay, budgetMicros: run.budgetMicros, limits });
    await createStore(db.doc, db.names).runs.create(run);
    return run;
  }
  return { real, faulty, submitted };
}

/**
 * The budget ledger's items straight on dynalite, for the ledger tests: what a day and a run hold
 * (strongly consistent reads), beside what the ledger answers, and a run item edited as no ledger write would.
 */
export function ledgerItems(db: Pick<DynaliteHarness, 'doc' | 'names'>) {
  async function dayItem(pk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.control, Key: { pk }, ConsistentRead: true }));
    return Item;
  }
  /** The day's `committedMicros`; 0 for a day nobody reserved on. */
  async function committed(pk: string): Promise<number> {
    return ((await dayItem(pk))?.committedMicros as number | undefined) ?? 0;
  }
  async function rawRun(runId: string): Promise<Record<string, unknown>> {
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.runs, Key: { runId }, ConsistentRead: true }));
    if (!Item) throw new Error(`no run ${runId}`);
    return Item;
  }
  /** What a requester's day and the org's day commit. */
  async function committedOnDays(requester: string, day: string): Promise<{ requester: number; org: number }> {
    const { requester: requesterDay, org } = daysOf({ requester, ledgerDay: day });
    return { requester: await committed(requesterDay), org: await committed(org) };
  }
  /** A write on the run item from outside the ledger (an operator's edit, or a version that wrote differently). */
  async function editRun(runId: string, update: string, values?: Record<string, unknown>): Promise<void> {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.names.runs,
        Key: { runId },
        UpdateExpression: update,
        ...(values ? { ExpressionAttributeValues: values } : {}),
      }),
    );
  }
  return { dayItem, committed, rawRun, committedOnDays, editRun };
}

/** The two day items a run reserves on. */
export function daysOf(run: Pick<RunRecord, 'requester' | 'ledgerDay'>): { requester: string; org: string } {
  return { requester: controlItemKey.requesterDay(run.requester, run.ledgerDay), org: controlItemKey.orgDay(run.ledgerDay) };
}
