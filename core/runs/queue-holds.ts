import type { NightshiftConfig } from '../config/schema';
import type { RunRepository } from '../store/ports';
import type { QueueEntry } from '../store/run-queue-port';
import type { ThreadStorePort } from '../store/thread-store-port';
import { reviewPlacesFull, type ReviewBacklogDeps } from './review-backlog';
import { threadBlocker } from './threads';

export interface QueueHoldDeps {
  runs: RunRepository;
  /** GitHub threads: a run of a thread is held while an earlier run of it is active (core/runs/threads.ts). */
  threads?: ThreadStorePort;
  /** `concurrency.maxOpenPrsPerRequester`: a new run is held while its requester's review places are full (core/runs/review-backlog.ts). */
  reviewBacklog?: Omit<ReviewBacklogDeps, 'runs'>;
}

/**
 * The queue sweep's check of held entries (docs/architecture.md#admission-and-the-queue): which ones
 * Admit would no longer hold, read only. A held run is woken (2 state transitions) only once its hold
 * has lifted, instead of on every sweep. The checks are admission's own (threadBlocker, the review
 * places' count without taking one); a run that is no longer QUEUED, or whose hold this sweep cannot
 * judge (a thread run without the thread store), counts as lifted, so its Admit decides as before.
 */
export function queueHoldChecker(deps: QueueHoldDeps): (held: readonly QueueEntry[]) => Promise<ReadonlySet<string>> {
  return async (held) => {
    const lifted = new Set<string>();
    for (const entry of held) if (!(await stillHeld(deps, entry.runId))) lifted.add(entry.runId);
    return lifted;
  };
}

async function stillHeld(deps: QueueHoldDeps, runId: string): Promise<boolean> {
  const run = await deps.runs.get(runId);
  if (!run || run.status !== 'QUEUED') return false;
  if (run.thread && deps.threads && (await threadBlocker({ runs: deps.runs, threads: deps.threads }, run)) !== undefined) return true;
  const max = deps.reviewBacklog?.maxOpenPrsPerRequester;
  // A resumed run already started once: its people are answering it, the backlog does not hold it (as in admission).
  if (deps.reviewBacklog && max !== undefined && !run.resume) return reviewPlacesFull({ ...deps.reviewBacklog, runs: deps.runs }, run, max);
  return false;
}

/**
 * Which holds a deployment can have, so the sweep reads (and is granted) only those: a thread with the
 * GitHub triggers (`github.webhookSecret`), the review backlog with `concurrency.maxOpenPrsPerRequester`.
 */
export function queueHoldsOf(config: Pick<NightshiftConfig, 'github' | 'concurrency'>): { threads: boolean; reviewBacklog: boolean } {
  return { threads: config.github.webhookSecret !== undefined, reviewBacklog: config.concurrency.maxOpenPrsPerRequester !== undefined };
}

/** The hold checks' stores, kept only for the holds the configuration can have. */
export function queueHoldDepsOf(
  stores: {
    runs: RunRepository;
    threads?: ThreadStorePort;
    inbox?: ReviewBacklogDeps['inbox'];
    reviewPlaces?: ReviewBacklogDeps['places'];
  },
  config: Pick<NightshiftConfig, 'github' | 'concurrency'>,
): QueueHoldDeps {
  const holds = queueHoldsOf(config);
  const { threads, inbox, reviewPlaces } = stores;
  return {
    runs: stores.runs,
    ...(holds.threads && threads ? { threads } : {}),
    ...(holds.reviewBacklog && inbox && reviewPlaces
      ? { reviewBacklog: { maxOpenPrsPerRequester: config.concurrency.maxOpenPrsPerRequester, inbox, places: reviewPlaces } }
      : {}),
  };
}
