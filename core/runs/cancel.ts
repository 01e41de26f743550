import { RunNotFoundError } from '../errors';
import type { RunRecord } from '../store/ports';
import { maySeeRun, type RunAccess } from './access';
import { finalizeRun, type FinalizeDeps } from './finalize';
import { IllegalTransitionError, isTerminal, type RunStatus } from './lifecycle';

/** The run already ended with another status than CANCELLED (HTTP 409). */
export class RunEndedError extends Error {
  constructor(
    readonly runId: string,
    readonly status: RunStatus,
  ) {
    super(`run ${runId} already ended (${status})`);
    this.name = 'RunEndedError';
  }
}

export interface CancelDeps extends FinalizeDeps {
  /** Stops the run's state machine execution; the backstop then finalizes the run as CANCELLED. */
  stopExecution(runId: string, cause: string): Promise<void>;
}

export interface CancelInput {
  runId: string;
  requester: string;
  /** Who asks: a run the caller may not see is unknown to it (RunNotFoundError), checked before any write. */
  access: RunAccess;
}

export interface CancelResult {
  runId: string;
  status: RunStatus;
  cancelRequested: true;
}

/**
 * Cancels a run. A queued run is ended CANCELLED at once (conditionally, so it can never be admitted
 * afterwards) and its execution stopped; an active run records the request and has its execution
 * stopped, after which the backstop finalizes it as CANCELLED. Idempotent: cancelling a cancelled or
 * cancelling run answers the same; a run that ended otherwise is refused.
 */
export async function cancelRun(deps: CancelDeps, input: CancelInput): Promise<CancelResult> {
  const cause = `cancelled by ${input.requester}`;
  // Three rounds at most: a queued run can be admitted between our read and our conditional write; the next round decides on what it became.
  for (let attempt = 0; attempt < 3; attempt++) {
    const run = await deps.runs.get(input.runId);
    if (!run || !maySeeRun(input.access, run)) throw new RunNotFoundError(input.runId);
    if (isTerminal(run.status)) {
      if (run.status === 'CANCELLED') return { runId: run.runId, status: run.status, cancelRequested: true };
      throw new RunEndedError(run.runId, run.status);
    }
    try {
      const updated = run.status === 'QUEUED' ? await cancelQueued(deps, run, cause) : await requestCancel(deps, run, input.requester);
      await deps.stopExecution(run.runId, cause);
      return { runId: updated.runId, status: updated.status, cancelRequested: true };
    } catch (err) {
      if (err instanceof IllegalTransitionError) continue; // the status moved under us: decide again
      throw err;
    }
  }
  throw new Error(`run ${input.runId} kept changing status while being cancelled`);
}

async function cancelQueued(deps: CancelDeps, run: RunRecord, cause: string): Promise<RunRecord> {
  // Mark the request first so that an admission racing with us sees it and refuses the run.
  await deps.runs.patch(run.runId, { cancelRequested: true });
  const { run: ended, transitioned } = await finalizeRun(deps, {
    runId: run.runId,
    status: 'CANCELLED',
    reason: { code: 'cancelled', message: cause },
  });
  if (!transitioned && ended.status !== 'CANCELLED') throw new RunEndedError(ended.runId, ended.status);
  return ended;
}

async function requestCancel(deps: CancelDeps, run: RunRecord, requester: string): Promise<RunRecord> {
  if (run.cancelRequested) return run;
  const updated = await deps.runs.patch(run.runId, { cancelRequested: true });
  await deps.events.append(run.runId, 'status', `cancel requested by ${requester}`, { cancelRequested: true, by: requester });
  return updated;
}
