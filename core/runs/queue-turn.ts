import type { ConcurrencySlotsPort, RunRecord, SlotCaps } from '../store/ports';
import { queueOrderOf, type QueueEntry, type RunQueuePort } from '../store/run-queue-port';
import { selectRunsToWake, WAKE_CLAIM_MS, WAKE_SCAN_LIMIT } from './queue-wake';

export interface QueueTurnDeps {
  queue: Pick<RunQueuePort, 'through'>;
  slots: Pick<ConcurrencySlotsPort, 'occupancy'>;
  caps: SlotCaps;
}

/**
 * Whether a run about to take a slot must leave it to runs ahead of it in the queue
 * (docs/architecture.md#admission-and-the-queue). Every admission that was not chosen by a waker asks
 * this first: a new run while others wait, a run whose Admit re-check timer fired, a resumed run. It
 * is its turn when the pure selection that wakers use (`selectRunsToWake`), run over the waiting
 * entries ahead of it and itself, picks it: entries ahead that wait for something else than a slot
 * (`held`) or whose repository or requester is full do not hold it back, an entry woken in the last
 * WAKE_CLAIM_MS counts as holding a slot. A run a waker chose (its own entry woken within
 * WAKE_CLAIM_MS) is always at its turn. The semaphores' conditional writes still decide; this only
 * keeps the order when a slot is free. Cost: one query of the queue index up to the run's own place,
 * and the semaphore reads only when some entry is ahead.
 */
export async function isQueueTurn(
  deps: QueueTurnDeps,
  run: Pick<RunRecord, 'runId' | 'repo' | 'requester' | 'priority'>,
  now: Date,
): Promise<boolean> {
  const priority = run.priority ?? 'normal';
  const entries = await deps.queue.through(run.runId, priority, WAKE_SCAN_LIMIT);
  const own = entries.find((e) => e.runId === run.runId);
  if (own?.wokenAt != null && now.getTime() - Date.parse(own.wokenAt) < WAKE_CLAIM_MS) return true;
  const ahead = entries.filter((e) => e.runId !== run.runId && !e.held);
  if (ahead.length === 0) return true;
  const self: QueueEntry = {
    runId: run.runId,
    repo: run.repo,
    requester: run.requester,
    queueOrder: queueOrderOf(run.runId, priority),
    held: false,
    wokenAt: null,
    since: now.toISOString(),
  };
  const candidates = [...ahead, self];
  const occupancy = await deps.slots.occupancy(
    candidates.map((e) => e.repo),
    deps.caps.perRequester === undefined ? [] : candidates.map((e) => e.requester),
  );
  return selectRunsToWake(candidates, occupancy, deps.caps, { now }).some((e) => e.runId === run.runId);
}
