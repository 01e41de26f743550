import * as z from 'zod';
import type { ConcurrencySlotsPort, RunEventLog, RunKeysPort, RunRecord, RunRepository, SlotCaps } from '../store/ports';
import type { RunQueuePort } from '../store/run-queue-port';
import { RunNotLaunchableError } from '../errors';
import { RunNotFoundError } from '../errors';
import { RunKey } from './run-key';
import { capacityProviderOf } from './automatic-resume';

import type { ThreadStorePort } from '../store/thread-store-port';
import { releaseReviewPlace, takeReviewPlace, type ReviewBacklogDeps } from './review-backlog';
import { CapacityProvider, IllegalTransitionError, isTerminal } from './lifecycle';
import { threadBlocker } from './threads';
import { arrivedInQueue, leaveQueue, type QueueMoveDeps } from './queue-moves';
import { isQueueTurn } from './queue-turn';

/** A run queued longer than this ends TIMED_OUT (code queue_timeout) instead of waiting forever. */
export const MAX_QUEUED_MINUTES = 12 * 60;

/** Why a run waits when no slot is free: the only reason a freed slot wakes it for. */
export const SLOT_WAIT_REASON = 'waiting for a concurrency slot';

import { AdmissionDecision } from './admission-decision';

export { AdmissionDecision };

export const AdmissionResult = z
  .object({
    decision: AdmissionDecision,
    queuePosition: z.number().int().positive().nullable(),
    /** A secret: never logged (the Admit handler logs the decision only). */
    runKey: RunKey.optional(),
    /** Admitted: the capacity the task launches on (the runTask state's capacity provider strategy). */
    capacityProvider: CapacityProvider.optional(),
  })
  .strict();
export type AdmissionResult = z.infer<typeof AdmissionResult>;

export interface AdmissionDeps {
  runs: RunRepository;
  /** The queue entries of QUEUED runs (order, position, the token a queued Admit state waits on). */
  queue: RunQueuePort;
  events: RunEventLog;
  slots: ConcurrencySlotsPort;
  runKeys: RunKeysPort;
  caps: SlotCaps;
  /** GitHub threads: a run of a thread waits behind that thread's earlier runs (docs/github-app.md, Threads). */
  threads?: ThreadStorePort;
  /** `concurrency.maxOpenPrsPerRequester`: a requester's new runs wait while that many review places are taken (core/runs/review-backlog.ts). */
  reviewBacklog?: Omit<ReviewBacklogDeps, 'runs'>;
  now?: () => Date;
  /** The queue moves GitHub status comments follow (core/runs/queue-moves.ts). */
  announceQueueMoved?: QueueMoveDeps['announceQueueMoved'];
}

const result = (decision: AdmissionDecision, queuePosition: number | null = null): AdmissionResult => ({ decision, queuePosition });

/**
 * Admits a run under the concurrency caps. Safe to call again for the same run (a retried step): the
 * slot acquisition is idempotent and a run already past QUEUED is reported admitted. A run that must
 * wait gets (or keeps) its place in the queue with `waitToken`, the token of its Admit state.
 * `wokenAt` in the answer: a waker woke this run before and it found no slot (it must not wake itself).
 */
export async function admitRun(
  deps: AdmissionDeps,
  runId: string,
  requested?: CapacityProvider,
  waitToken?: string,
): Promise<AdmissionResult & { wokenAt?: string | null }> {
  const run = await deps.runs.get(runId);
  if (!run) throw new RunNotFoundError(runId);
  if (isTerminal(run.status)) return result('ended');
  if (run.cancelRequested) return result('cancelled');

  if (run.status !== 'QUEUED') {
    // A retry after an attempt that admitted the run but whose answer was lost.
    await deps.slots.acquire(run.runId, run.repo, deps.caps, run.requester);
    // Our read may be stale: if Finalize ended the run and released its slots before we acquired,
    // nothing would ever release them again. Look once more and give them back.
    const now = await deps.runs.get(run.runId);
    if (!now || isTerminal(now.status)) {
      await deps.slots.release(run.runId, run.repo, run.requester);
      return result('ended');
    }
    await leaveQueue(deps, run.runId);
    return admitted(deps, run, requested);
  }

  const now = deps.now?.() ?? new Date();
  // A resumed run queues again from its answer, not from its creation.
  const queuedSince = run.resume?.answeredAt ?? run.createdAt;
  if (now.getTime() - Date.parse(queuedSince) > MAX_QUEUED_MINUTES * 60_000) return result('expired');

  // The requester's review backlog, then one run of a thread at a time: both checked before taking
  // slots, so a waiting run holds none.
  let reason = await reviewBacklogReason(deps, run);
  if (reason === undefined) {
    const blocker = run.thread ? await threadBlocker({ runs: deps.runs, threads: requireThreads(deps) }, run) : undefined;
    // Runs ahead in the queue that a free slot admits go first (a waker is waking them); this one waits its turn.
    if (
      blocker === undefined &&
      (await isQueueTurn(deps, run, now)) &&
      (await deps.slots.acquire(run.runId, run.repo, deps.caps, run.requester))
    )
      return start(deps, run, requested);
    reason = blocker !== undefined ? `waiting for run ${blocker} of its thread` : SLOT_WAIT_REASON;
    await giveBackReviewPlace(deps, run);
  }

  const priority = run.priority ?? 'normal';
  const { wokenAt, placed } = await deps.queue.wait({
    runId: run.runId,
    repo: run.repo,
    requester: run.requester,
    priority,
    held: reason !== SLOT_WAIT_REASON,
    at: now.toISOString(),
    ...(waitToken ? { token: waitToken } : {}),
  });
  const position = await deps.queue.position(run.runId, priority);
  try {
    // Written every time (not only when it changed): the write is refused once the run ended, which
    // tells us a cancel raced with us and the entry we just wrote must go.
    await deps.runs.patch(run.runId, { queuePosition: position, queueReason: reason });
  } catch (err) {
    if (err instanceof IllegalTransitionError) {
      await leaveQueue(deps, run.runId);
      return result('ended');
    }
    throw err;
  }
  if (placed) await arrivedInQueue(deps, run.runId, position);
  return waitToken ? { ...result('queued', position), wokenAt } : result('queued', position);
}

/**
 * Why a new run must wait for its requester's reviews, or undefined. Only a run's first admission: a
 * run resumed after a pause already started, and its people are answering it.
 */
export async function reviewBacklogReason(
  deps: Pick<AdmissionDeps, 'reviewBacklog' | 'runs'>,
  run: Pick<RunRecord, 'runId' | 'requester' | 'resume'>,
): Promise<string | undefined> {
  const max = deps.reviewBacklog?.maxOpenPrsPerRequester;
  if (!deps.reviewBacklog || max === undefined || run.resume) return undefined;
  // Takes the run's review place (exact under concurrent admissions); a run that then waits for a slot or its thread gives it back.
  const decision = await takeReviewPlace({ ...deps.reviewBacklog, runs: deps.runs }, run, max);
  return decision.taken ? undefined : decision.reason;
}

/** A run that took a review place but waits again (a slot, its thread) gives it back: a queued run holds none. */
async function giveBackReviewPlace(deps: AdmissionDeps, run: Pick<RunRecord, 'runId' | 'requester' | 'resume'>): Promise<void> {
  if (deps.reviewBacklog?.maxOpenPrsPerRequester !== undefined && !run.resume) await releaseReviewPlace(deps.reviewBacklog, run);
}

function requireThreads(deps: AdmissionDeps): ThreadStorePort {
  if (!deps.threads) throw new Error('admitting a run of a GitHub thread needs the thread store');
  return deps.threads;
}

async function start(deps: AdmissionDeps, run: RunRecord, requested: CapacityProvider | undefined): Promise<AdmissionResult> {
  let started: RunRecord;
  try {
    started = await deps.runs.transition(run.runId, 'STARTING', { queuePosition: null, queueReason: null });
  } catch (err) {
    if (err instanceof IllegalTransitionError) {
      // Cancelled (ended) while we took the slots: give them back before anyone waits on them.
      await deps.slots.release(run.runId, run.repo, run.requester);
      return result('ended');
    }
    throw err;
  }
  await leaveQueue(deps, run.runId);
  await deps.events.append(run.runId, 'status', 'QUEUED → STARTING: admitted, starting the runner', { from: 'QUEUED', to: 'STARTING' });
  // A cancel that landed between our read and the transition: Finalize ends it CANCELLED and frees the slots.
  return started.cancelRequested ? result('cancelled') : admitted(deps, started, requested);
}

/**
 * Admitted: a new run key for the task about to launch (any earlier key stops working), and the
 * capacity it runs on: the execution's, unless automatic resumes moved the run to regular Fargate.
 */
async function admitted(deps: AdmissionDeps, run: RunRecord, requested: CapacityProvider | undefined): Promise<AdmissionResult> {
  try {
    const capacity = requested ? { capacityProvider: capacityProviderOf(run, requested) } : {};
    return { ...result('admitted'), runKey: await deps.runKeys.issue(run.runId), ...capacity };
  } catch (err) {
    // Ended between our read and the key: nothing launches; give the slots back before anyone waits on them.
    if (err instanceof RunNotLaunchableError) {
      await deps.slots.release(run.runId, run.repo, run.requester);
      return result('ended');
    }
    throw err;
  }
}

/**
 * A run's queue position as people see it: 1 + the queue entries ahead of it (a COUNT over the queue
 * index keys, no run item read). A run not in the queue yet (just submitted, its Admit has not run)
 * counts as the last one.
 */
export async function queuePosition(queue: Pick<RunQueuePort, 'position'>, run: Pick<RunRecord, 'runId' | 'priority'>): Promise<number> {
  return queue.position(run.runId, run.priority ?? 'normal');
}
