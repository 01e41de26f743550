import * as z from 'zod';
import { AdmissionResult } from '../../core/runs/admission';
import { ExecutionInput } from '../../core/runs/execution';
import { finalizeRun, type FinalizeDeps } from '../../core/runs/finalize';
import type { TerminalStatus } from '../../core/runs/lifecycle';
import { CaughtError, terminationOf } from '../../core/runs/termination';
import { RunNotFoundError } from '../../core/errors';
import { finalizeDepsFromEnv, lazyOrchestratorDeps, orchestratorLogger } from './deps';

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

/** The Finalize task: every path of the state machine ends here. Throws so the state's Retry acts. */
export function createFinalizeHandler(deps: () => FinalizeDeps) {
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

export const handler = createFinalizeHandler(lazyOrchestratorDeps(finalizeDepsFromEnv));
