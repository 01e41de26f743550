import * as z from 'zod';
import { AdmissionResult } from '../../core/runs/admission';
import { ExecutionInput } from '../../core/runs/execution';
import { BUDGET_DECLINED_ERROR, PLAN_REJECTED_ERROR } from '../../core/runs/answer';
import { finalizeRun } from '../../core/runs/finalize';
import { isTerminal, type TerminalStatus } from '../../core/runs/lifecycle';
import { reasonText, terminationFor, type Termination } from '../../core/runs/termination';
import type { RunRecord } from '../../core/store/ports';
import { RunNotFoundError } from '../../core/errors';
import { lazyOrchestratorDeps, orchestratorLogger, type OrchestratorDeps } from './deps';

/** An error as a Catch writes it into the state (`ResultPath`). */
export const CaughtError = z.object({ Error: z.string(), Cause: z.string().nullish() });

/**
 * The Finalize state's input: the execution input plus whatever the path that led here added
 * (`admission`, `admissionFailure`, `result` of the runner, or its `failure`). Unknown keys are dropped.
 */
export const FinalizeTaskInput = z.object({
  ...ExecutionInput.shape,
  admission: AdmissionResult.optional(),
  admissionFailure: CaughtError.optional(),
  result: z.unknown().optional(),
  failure: CaughtError.optional(),
  /** The wait for a human failed: no answer within answerSeconds (States.Timeout), or the Pause task refused. */
  pauseFailure: CaughtError.optional(),
  /** The run was interrupted or lost and did not resume without a human (core/runs/automatic-resume.ts). */
  resumeFailure: CaughtError.optional(),
});
export type FinalizeTaskInput = z.infer<typeof FinalizeTaskInput>;

export interface FinalizeTaskOutput {
  runId: string;
  status: TerminalStatus;
  code: string;
  transitioned: boolean;
}

/** How the path that reached Finalize ended the run. */
export function terminationOf(input: FinalizeTaskInput, run: RunRecord): Termination {
  // The clocks this execution ran with, so a timeout names them in minutes.
  const clocks = { cancelRequested: run.cancelRequested, maxMinutes: Math.round(input.timeoutSeconds / 60), noProgressMinutes: Math.round(input.heartbeatSeconds / 60) };
  if (input.pauseFailure) return pauseTermination(input.pauseFailure, run);
  // A lost task that did not resume ends as lost (its `failure`); an interruption that did not resume ends here.
  if (input.resumeFailure && !input.failure) return resumeTermination(input.resumeFailure, run);
  if (input.failure) return terminationFor({ kind: 'runner_failed', error: input.failure.Error, cause: input.failure.Cause ?? null }, clocks);
  if (input.result !== undefined) return terminationFor({ kind: 'runner_succeeded', output: input.result }, clocks);
  if (input.admissionFailure) {
    if (run.cancelRequested) return { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled' } };
    const { Error: error, Cause: cause } = input.admissionFailure;
    return { status: 'FAILED', reason: { code: 'admission_failed', message: reasonText(`${error}${cause ? `: ${cause}` : ''}`, 'admission failed') } };
  }
  switch (input.admission?.decision) {
    case 'cancelled':
      return { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled before it started' } };
    case 'expired':
      return { status: 'TIMED_OUT', reason: { code: 'queue_timeout', message: 'the run waited too long for a concurrency slot' } };
    case 'ended':
      // Already terminal: finalizeRun keeps the status it has and only repeats the clean-up.
      if (isTerminal(run.status)) return { status: run.status, reason: run.error ?? { code: 'ended', message: 'the run had already ended' } };
      break;
    default:
      break;
  }
  throw new Error(`Finalize reached for run ${run.runId} without an outcome (admission ${input.admission?.decision ?? 'none'})`);
}

/** How a wait for a human ended without an answer. */
function pauseTermination(failure: z.infer<typeof CaughtError>, run: RunRecord): Termination {
  if (isTerminal(run.status)) return { status: run.status, reason: run.error ?? { code: 'ended', message: 'the run had already ended' } };
  if (run.cancelRequested) return { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled while it waited for a human' } };
  if (failure.Error === BUDGET_DECLINED_ERROR) return { status: 'BUDGET_EXCEEDED', reason: { code: 'budget_declined', message: reasonText(`the requester declined more budget${run.branch ? `; its work in progress is on ${run.branch}` : ''}`, 'the requester declined more budget') } };
  if (failure.Error === PLAN_REJECTED_ERROR) return { status: 'CANCELLED', reason: { code: 'plan_rejected', message: 'the requester rejected the plan; nothing was changed' } };
  if (failure.Error === 'States.Timeout') {
    const branch = run.branch ? `; its work in progress is on ${run.branch}` : '';
    return { status: 'TIMED_OUT', reason: { code: 'no_answer', message: `nobody answered within timeouts.answerHours${branch}` } };
  }
  return { status: 'FAILED', reason: { code: 'pause_failed', message: reasonText(`${failure.Error}${failure.Cause ? `: ${failure.Cause}` : ''}`, 'the run could not pause') } };
}

/** How an interruption the run could not resume from ends it. */
function resumeTermination(failure: z.infer<typeof CaughtError>, run: RunRecord): Termination {
  if (isTerminal(run.status)) return { status: run.status, reason: run.error ?? { code: 'ended', message: 'the run had already ended' } };
  if (run.cancelRequested) return { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled' } };
  const why = failure.Error === 'Nightshift.NotResumed' && failure.Cause ? failure.Cause.replace(/^run \S+ does not resume: /, '') : `${failure.Error}${failure.Cause ? `: ${failure.Cause}` : ''}`;
  const branch = run.branch ? `; its work in progress is on ${run.branch}` : '';
  return { status: 'FAILED', reason: { code: 'interrupted', message: reasonText(`the runner was interrupted and the run did not resume: ${why}${branch}`, 'the runner was interrupted') } };
}

/** The Finalize task: every path of the state machine ends here. Throws so the state's Retry acts. */
export function createFinalizeHandler(deps: () => OrchestratorDeps) {
  return async function handler(event: unknown): Promise<FinalizeTaskOutput> {
    const input = FinalizeTaskInput.parse(event);
    const logger = orchestratorLogger.createChild({ persistentKeys: { runId: input.runId } });
    const d = deps();
    const run = await d.runs.get(input.runId);
    if (!run) throw new RunNotFoundError(input.runId);
    const termination = terminationOf(input, run);
    const { run: ended, transitioned } = await finalizeRun(d, { runId: input.runId, ...termination });
    logger.info('run finalized', { status: ended.status, reason: ended.error, transitioned });
    return { runId: ended.runId, status: ended.status as TerminalStatus, code: termination.reason.code, transitioned };
  };
}

export const handler = createFinalizeHandler(lazyOrchestratorDeps());
