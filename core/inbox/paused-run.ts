import type { RunRecord } from '../store/ports';

/**
 * What a run holds while it waits for a human (docs/inbox.md#what-a-paused-run-holds):
 * - no concurrency slot: the pause gives both back before the run is WAITING_FOR_HUMAN;
 * - no compute: the runner task reported the pause, charged its compute and exited; the pause stops it anyway;
 * - its budget reservation, unchanged: the unused part (`budget - spent`) stays reserved on the
 *   requester's and the org's day, because an answer resumes the run under the same budget and a
 *   resume must never be refused for lack of day budget the run was already given. No model call is
 *   in flight (the runner settles each call before it reports). The reservation returns to the day
 *   when the run ends, whatever ends it (answer then finish, reject, no answer, cancel).
 */
export interface PausedRunHoldings {
  slots: 0;
  computeTasks: 0;
  /** Still reserved on the days for this run: the part of its budget it has not spent. */
  reservedMicros: number;
  /** Spent before the pause (model calls and compute), kept: the run's cost carries across pauses. */
  spentMicros: number;
}

export function pausedRunHoldings(run: Pick<RunRecord, 'budgetMicros' | 'spentMicros'>): PausedRunHoldings {
  return { slots: 0, computeTasks: 0, reservedMicros: Math.max(0, run.budgetMicros - run.spentMicros), spentMicros: run.spentMicros };
}

/** At most this many pauses per run: bounds the execution's length and history (each pause is one task token). */
export const MAX_PAUSES_PER_RUN = 10;
