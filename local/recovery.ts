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
  // Read from the table, not a status index: a crash can leave a run's index entries behind its item.
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
