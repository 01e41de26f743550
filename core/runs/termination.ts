import * as z from 'zod';
import { BUDGET_DECLINED_ERROR, PLAN_REJECTED_ERROR } from '../inbox/pause-resolution';
import type { AdmissionDecision } from './admission-decision';
import { isTerminal, type RunStatus, type TerminalStatus } from './lifecycle';
import { RunnerErrorName, RunnerResult, type RunError } from './schemas';

/**
 * How a run ended, as the state machine or the backstop saw it, mapped to the terminal status and
 * reason that `finalizeRun` writes. Pure, so that every path (runTask success/failure, execution
 * aborted, timed out, failed) is decided in one tested place.
 */
export type RunEnding =
  /** SendTaskSuccess: `output` is the runner's JSON, untrusted until parsed. */
  | { kind: 'runner_succeeded'; output: unknown }
  /** SendTaskFailure, or a States.* error the runTask state caught (`error` / `cause` as Step Functions reports them). */
  | { kind: 'runner_failed'; error: string; cause?: string | null }
  /** The backstop: an execution that ended without reaching the finalize state. */
  | { kind: 'execution_ended'; executionStatus: 'FAILED' | 'TIMED_OUT' | 'ABORTED'; error?: string | null; cause?: string | null };

export interface Termination {
  status: TerminalStatus;
  reason: RunError;
  result?: RunnerResult;
}

const maxReasonLength = 1_000;

/** Error causes come from a task the model steered: keep them short, printable and on one line. */
export function reasonText(text: string | null | undefined, fallback: string): string {
  const cleaned = (text ?? '')
    .toWellFormed()
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters from untrusted text is the point
    .replace(/[\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]+/gu, ' ')
    .trim();
  if (cleaned.length === 0) return fallback;
  return cleaned.length > maxReasonLength ? `${cleaned.slice(0, maxReasonLength - 1)}…` : cleaned;
}

const cancelled = (message: string): Termination => ({ status: 'CANCELLED', reason: { code: 'cancelled', message } });

function fromRunnerSuccess(output: unknown): Termination {
  const json = typeof output === 'string' ? safeJson(output) : output;
  const parsed = RunnerResult.safeParse(json);
  if (!parsed.success) {
    return {
      status: 'FAILED',
      reason: {
        code: 'invalid_runner_result',
        message: `the runner reported a result that is not a RunnerResult: ${z.prettifyError(parsed.error).slice(0, 300)}`,
      },
    };
  }
  const result = parsed.data;
  if (result.outcome === 'question') {
    return {
      status: 'SUCCEEDED',
      reason: { code: 'question', message: reasonText(result.question, 'the agent stopped to ask a question') },
      result,
    };
  }
  return { status: 'SUCCEEDED', reason: { code: result.outcome, message: reasonText(result.summary, result.outcome) }, result };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The run's clocks, so a timeout is told in the words of the config (`maxMinutes`, `noProgressMinutes`), not the state machine's. */
export interface RunClocks {
  maxMinutes?: number;
  noProgressMinutes?: number;
}

const minutes = (n: number) => `${n} minute${n === 1 ? '' : 's'}`;

/** The wall clock ran out. Step Functions' own cause ("TimeoutSeconds exceeded") is not shown: it speaks of the state machine. */
export function timedOutReason(clocks: RunClocks): RunError {
  const limit = clocks.maxMinutes === undefined ? 'its max minutes' : `its max minutes (${minutes(clocks.maxMinutes)})`;
  return {
    code: 'timed_out',
    message: `the run reached ${limit} before it finished; submit it again with a larger --max-minutes (at most timeouts.maxMinutes)`,
  };
}

/** No heartbeat (a model turn or a finished tool call) within noProgressMinutes. */
export function noProgressReason(clocks: RunClocks): RunError {
  const window =
    clocks.noProgressMinutes === undefined
      ? 'timeouts.noProgressMinutes'
      : `${minutes(clocks.noProgressMinutes)} (timeouts.noProgressMinutes)`;
  return {
    code: 'no_progress',
    message: `no heartbeat for ${window}: the agent finished no model turn or tool call in that time (a hung command, or a runner that stopped)`,
  };
}

function fromFailure(error: string, cause: string | null | undefined, cancelRequested: boolean, clocks: RunClocks): Termination {
  const named = RunnerErrorName.safeParse(error);
  if (named.success && named.data === 'Nightshift.BudgetExceeded') {
    return { status: 'BUDGET_EXCEEDED', reason: { code: 'budget_exceeded', message: reasonText(cause, 'the run used its whole budget') } };
  }
  // A requested cancel explains any failure that follows it (the task was stopped, the runner was interrupted).
  if (cancelRequested || error === 'Nightshift.Cancelled') return cancelled(reasonText(cause, 'the run was cancelled'));
  switch (error) {
    case 'States.Timeout':
      return { status: 'TIMED_OUT', reason: timedOutReason(clocks) };
    case 'States.HeartbeatTimeout':
      return { status: 'FAILED', reason: noProgressReason(clocks) };
    case 'Nightshift.Interrupted':
      return { status: 'FAILED', reason: { code: 'interrupted', message: reasonText(cause, 'the runner was interrupted') } };
    case 'Nightshift.RunFailed':
      return { status: 'FAILED', reason: { code: 'run_failed', message: reasonText(cause, 'the run failed') } };
    // The task stopped without reporting (core/runs/runner-stop.ts): the cause says why, in words.
    case 'Nightshift.RunnerLost':
      return { status: 'FAILED', reason: { code: 'runner_lost', message: reasonText(cause, 'the runner stopped without reporting') } };
    default:
      return {
        status: 'FAILED',
        reason: { code: 'runner_error', message: reasonText(`${error}${cause ? `: ${cause}` : ''}`, 'the run failed') },
      };
  }
}

export function terminationFor(ending: RunEnding, run: { cancelRequested: boolean } & RunClocks): Termination {
  switch (ending.kind) {
    case 'runner_succeeded':
      // A finished run is reported as it finished, even if a cancel arrived in its last moments.
      return fromRunnerSuccess(ending.output);
    case 'runner_failed':
      return fromFailure(ending.error, ending.cause, run.cancelRequested, run);
    case 'execution_ended':
      if (run.cancelRequested) return cancelled('the run was cancelled');
      if (ending.executionStatus === 'ABORTED') return cancelled('the execution was stopped outside Nightshift');
      if (ending.executionStatus === 'TIMED_OUT') return { status: 'TIMED_OUT', reason: timedOutReason(run) };
      return ending.error
        ? fromFailure(ending.error, ending.cause, false, run)
        : { status: 'FAILED', reason: { code: 'execution_failed', message: reasonText(ending.cause, 'the execution failed') } };
  }
}

/** An error as a Catch writes it into the state (`ResultPath`). */
export const CaughtError = z.object({ Error: z.string(), Cause: z.string().nullish() });
export type CaughtError = z.infer<typeof CaughtError>;

/**
 * What the path that reached the Finalize state left in it (lambdas/orchestrator/finalize.ts parses it):
 * the execution's clocks and the outcome of the step that ended the run.
 */
export interface FinalizePath {
  timeoutSeconds: number;
  heartbeatSeconds: number;
  admission?: { decision: AdmissionDecision };
  admissionFailure?: CaughtError;
  /** The runner's result (SendTaskSuccess), untrusted until parsed. */
  result?: unknown;
  failure?: CaughtError;
  /** The wait for a human failed: no answer within answerSeconds (States.Timeout), or the Pause task refused. */
  pauseFailure?: CaughtError;
  /** The run was interrupted or lost and did not resume without a human (core/runs/automatic-resume.ts). */
  resumeFailure?: CaughtError;
}

/** The run as Finalize reads it to decide how it ended. */
export interface FinalizedRun {
  runId: string;
  status: RunStatus;
  error: RunError | null;
  branch: string | null;
  cancelRequested: boolean;
}

/** How the path that reached Finalize ended the run. */
export function terminationOf(input: FinalizePath, run: FinalizedRun): Termination {
  // The clocks this execution ran with, so a timeout names them in minutes.
  const clocks = {
    cancelRequested: run.cancelRequested,
    maxMinutes: Math.round(input.timeoutSeconds / 60),
    noProgressMinutes: Math.round(input.heartbeatSeconds / 60),
  };
  if (input.pauseFailure) return pauseTermination(input.pauseFailure, run);
  // A lost task that did not resume ends as lost (its `failure`); an interruption that did not resume ends here.
  if (input.resumeFailure && !input.failure) return resumeTermination(input.resumeFailure, run);
  if (input.failure)
    return terminationFor({ kind: 'runner_failed', error: input.failure.Error, cause: input.failure.Cause ?? null }, clocks);
  if (input.result !== undefined) return terminationFor({ kind: 'runner_succeeded', output: input.result }, clocks);
  if (input.admissionFailure) {
    if (run.cancelRequested) return { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled' } };
    return {
      status: 'FAILED',
      reason: { code: 'admission_failed', message: reasonText(caughtText(input.admissionFailure), 'admission failed') },
    };
  }
  switch (input.admission?.decision) {
    case 'cancelled':
      return { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled before it started' } };
    case 'expired':
      return { status: 'TIMED_OUT', reason: { code: 'queue_timeout', message: 'the run waited too long for a concurrency slot' } };
    case 'ended':
      // Already terminal: finalizeRun keeps the status it has and only repeats the clean-up.
      if (isTerminal(run.status)) return alreadyEnded(run.status, run.error);
      break;
    // Stryker disable next-line ConditionalExpression: an empty default falls out of the switch to the same throw as `break`
    default:
      break;
  }
  throw new Error(`Finalize reached for run ${run.runId} without an outcome (admission ${input.admission?.decision ?? 'none'})`);
}

/** How a wait for a human ended without an answer. */
function pauseTermination(failure: CaughtError, run: FinalizedRun): Termination {
  if (isTerminal(run.status)) return alreadyEnded(run.status, run.error);
  if (run.cancelRequested)
    return { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled while it waited for a human' } };
  if (failure.Error === BUDGET_DECLINED_ERROR) {
    // Stryker disable next-line StringLiteral: the fallback is unreachable, the message it stands in for starts with these same words and is never blank
    const fallback = 'the requester declined more budget';
    return {
      status: 'BUDGET_EXCEEDED',
      reason: { code: 'budget_declined', message: reasonText(`${fallback}${workInProgress(run)}`, fallback) },
    };
  }
  if (failure.Error === PLAN_REJECTED_ERROR)
    return { status: 'CANCELLED', reason: { code: 'plan_rejected', message: 'the requester rejected the plan; nothing was changed' } };
  if (failure.Error === 'States.Timeout')
    return {
      status: 'TIMED_OUT',
      reason: { code: 'no_answer', message: `nobody answered within timeouts.answerHours${workInProgress(run)}` },
    };
  return { status: 'FAILED', reason: { code: 'pause_failed', message: reasonText(caughtText(failure), 'the run could not pause') } };
}

/** How an interruption the run could not resume from ends it. */
function resumeTermination(failure: CaughtError, run: FinalizedRun): Termination {
  if (isTerminal(run.status)) return alreadyEnded(run.status, run.error);
  if (run.cancelRequested) return { status: 'CANCELLED', reason: { code: 'cancelled', message: 'the run was cancelled' } };
  const why =
    failure.Error === 'Nightshift.NotResumed' && failure.Cause
      ? failure.Cause.replace(/^run \S+ does not resume: /, '')
      : caughtText(failure);
  // Stryker disable next-line StringLiteral: the fallback is unreachable, the message starts with a fixed sentence and is never blank
  const fallback = 'the runner was interrupted';
  return {
    status: 'FAILED',
    reason: { code: 'interrupted', message: reasonText(`${fallback} and the run did not resume: ${why}${workInProgress(run)}`, fallback) },
  };
}

/** A run that was already terminal when Finalize read it: it keeps its status and its reason. */
function alreadyEnded(status: TerminalStatus, error: RunError | null): Termination {
  return { status, reason: error ?? { code: 'ended', message: 'the run had already ended' } };
}

/** A caught error in words: its name, then its cause when it has one. */
function caughtText(failure: CaughtError): string {
  return `${failure.Error}${failure.Cause ? `: ${failure.Cause}` : ''}`;
}

/** Where the run's work in progress is, as the end of a reason; empty when it has no branch yet. */
function workInProgress(run: FinalizedRun): string {
  return run.branch ? `; its work in progress is on ${run.branch}` : '';
}
