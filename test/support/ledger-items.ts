import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { controlItemKey } from '../../adapters/dynamodb/tables';
import type { RunRecord } from '../../core/store/ports';
import type { DynaliteHarness } from './dynalite';

/**
 * The budget ledger's items read straight from dynalite (strongly consistent), for the ledger tests:
 * what a day and a run hold, beside what the ledger answers.
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
  return { dayItem, committed, rawRun, committedOnDays };
}

/** The two day items a run reserves on. */
export function daysOf(run: Pick<RunRecord, 'requester' | 'ledgerDay'>): { requester: string; org: string } {
  return { requester: controlItemKey.requesterDay(run.requester, run.ledgerDay), org: controlItemKey.orgDay(run.ledgerDay) };
}
