import * as z from 'zod';
import { finalizeRun, type FinalizeDeps } from '../../core/runs/finalize';
import { RunId } from '../../core/runs/schemas';
import { terminationFor } from '../../core/runs/termination';
import { finalizeDepsFromEnv, lazyOrchestratorDeps, orchestratorLogger } from './deps';

/** The EventBridge "Step Functions Execution Status Change" event, as far as the backstop reads it. */
export const ExecutionStatusChange = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string(),
    stateMachineArn: z.string(),
    /** The execution name, which is the run id. */
    name: z.string(),
    status: z.string(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});
export type ExecutionStatusChange = z.infer<typeof ExecutionStatusChange>;

const endedStatuses = z.enum(['FAILED', 'TIMED_OUT', 'ABORTED']);

export interface BackstopOutcome {
  runId: string | null;
  action: 'finalized' | 'already_terminal' | 'ignored';
}

/**
 * The backstop: an execution that ended without reaching Finalize (stopped from the console or by a
 * cancel, timed out, failed) gets the same idempotent clean-up. Errors are thrown so that Lambda's
 * async retries and the dead-letter queue keep the event.
 */
export function createBackstopHandler(deps: () => FinalizeDeps) {
  return async function handler(event: unknown): Promise<BackstopOutcome> {
    const { detail } = ExecutionStatusChange.parse(event);
    const status = endedStatuses.safeParse(detail.status);
    const runId = RunId.safeParse(detail.name);
    if (!status.success || !runId.success) {
      orchestratorLogger.warn('status change ignored', { executionArn: detail.executionArn, status: detail.status });
      return { runId: null, action: 'ignored' };
    }
    const logger = orchestratorLogger.createChild({ persistentKeys: { runId: runId.data } });
    const d = deps();
    const run = await d.runs.get(runId.data);
    if (!run) {
      // Every execution is started by submit after the run record exists; nothing here holds a slot.
      logger.error('execution ended for an unknown run', { executionArn: detail.executionArn, status: status.data });
      return { runId: runId.data, action: 'ignored' };
    }
    const termination = terminationFor(
      { kind: 'execution_ended', executionStatus: status.data, error: detail.error ?? null, cause: detail.cause ?? null },
      { cancelRequested: run.cancelRequested, maxMinutes: run.maxMinutes },
    );
    const { run: ended, transitioned } = await finalizeRun(d, { runId: run.runId, ...termination });
    logger.info('backstop finalized run', { executionStatus: status.data, status: ended.status, transitioned });
    return { runId: run.runId, action: transitioned ? 'finalized' : 'already_terminal' };
  };
}

export const handler = createBackstopHandler(lazyOrchestratorDeps(finalizeDepsFromEnv));
