import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Store } from '../adapters/dynamodb';
import { scanRunsInStatuses } from '../adapters/dynamodb/run-scan';
import { activeStatuses } from '../core/runs/lifecycle';
import { finalizeRun, type FinalizeDeps } from '../core/runs/finalize';
import type { ListingRunRepository } from '../core/store/ports';
import type { RunRecord } from '../core/runs/run-record';
import { reconcileSlots } from '../core/runs/slot-reconciler';
import type { LocalLog } from './local-log';

/** Why a run was ended when the local platform started again. */
export const localRestartReason = {
  code: 'local_restart',
  message: 'the local platform stopped while this run was active; its execution and runner did not survive the restart',
} as const;

/**
 * At start, a local platform owns no executions: a run a previous process left QUEUED, STARTING, RUNNING
 * or WAITING_FOR_HUMAN will never hear from its state machine again. Each is ended FAILED with reason
 * `local_restart` through the same finalizeRun every other path uses (slots released, budget settled),
 * and slots still held by runs that already ended (or do not exist) are freed, in the global semaphore
 * and in those of `repos`.
 */
export async function recoverInterruptedRuns(
  deps: FinalizeDeps & { runs: ListingRunRepository; activeRuns: () => Promise<RunRecord[]> },
  log: LocalLog,
  repos: readonly string[] = [],
): Promise<{ ended: string[]; slotsFreed: string[] }> {
  const ended: string[] = [];
  for (const run of await deps.activeRuns()) {
    const { transitioned } = await finalizeRun(deps, { runId: run.runId, status: 'FAILED', reason: { ...localRestartReason } });
    if (transitioned) {
      ended.push(run.runId);
      log.warn('run ended by restart recovery', { runId: run.runId, was: run.status });
    }
  }
  const { released: slotsFreed } = await reconcileSlots({ runs: deps.runs, slots: deps.slots, repos });
  for (const runId of slotsFreed) log.warn('slot of an ended run released by restart recovery', { runId });
  return { ended, slotsFreed };
}

/**
 * Restart recovery as the local platform runs it: over its store, with the active runs read from the
 * runs table `runsTable` by a consistent Scan. Not from a status index: dynalite writes a run's index
 * entries before its item, so a platform killed in between leaves a run that no status index lists.
 */
export function recoverLocalRuns(
  store: Store,
  table: { doc: DynamoDBDocumentClient; runsTable: string },
  stopRunTasks: (runId: string) => Promise<void>,
  log: LocalLog,
  repos: readonly string[] = [],
): Promise<{ ended: string[]; slotsFreed: string[] }> {
  const activeRuns = () => scanRunsInStatuses(table.doc, table.runsTable, activeStatuses);
  return recoverInterruptedRuns({ ...store, stopRunTasks, activeRuns }, log, repos);
}
