import * as z from 'zod';
import { RepoName } from '../../core/config/schema';
import { admitRun, type AdmissionResult } from '../../core/runs/admission';
import { CapacityProvider } from '../../core/runs/lifecycle';
import { RunId } from '../../core/runs/schemas';
import { lazyOrchestratorDeps, orchestratorLogger, type OrchestratorDeps } from './deps';

/** The Admit state's payload (its Parameters): the run, its repository and the capacity its execution asks for. */
export const AdmitTaskInput = z.object({ runId: RunId, repo: RepoName, capacityProvider: CapacityProvider }).strict();

/** The Admit task. Errors are thrown, never returned, so the state's Retry and Catch act on them. */
export function createAdmitHandler(deps: () => OrchestratorDeps) {
  return async function handler(event: unknown): Promise<AdmissionResult> {
    const input = AdmitTaskInput.parse(event);
    const logger = orchestratorLogger.createChild({ persistentKeys: { runId: input.runId } });
    const admission = await admitRun(deps(), input.runId, input.capacityProvider);
    // The run key is a secret: only the decision is logged.
    logger.info('admission', { decision: admission.decision, queuePosition: admission.queuePosition, capacityProvider: admission.capacityProvider });
    return admission;
  };
}

export const handler = createAdmitHandler(lazyOrchestratorDeps());
