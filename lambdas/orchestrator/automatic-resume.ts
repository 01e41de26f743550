import {
  AutomaticResumeTaskInput,
  resumeWithoutHuman,
  type AutomaticResumeOutput,
  type AutomaticResumeDeps,
} from '../../core/runs/automatic-resume';
import { automaticResumeDepsFromEnv, lazyOrchestratorDeps, orchestratorLogger } from './deps';

/**
 * The "Resume without a human" task: a run whose task was interrupted (the runner checkpointed on
 * SIGTERM) or lost after a checkpoint is re-queued at once, with no inbox item; the execution goes on
 * to Admit. A refusal (cap reached, no checkpoint, cancel requested) is thrown, so the state's Catch
 * takes the run to Finalize.
 */
export function createAutomaticResumeHandler(deps: () => AutomaticResumeDeps) {
  return async function handler(event: unknown): Promise<AutomaticResumeOutput> {
    // The state is passed whole; only the run, the capacity, the report and the failure are read (never the run key).
    const input = AutomaticResumeTaskInput.parse(event);
    const logger = orchestratorLogger.createChild({ persistentKeys: { runId: input.runId } });
    const resumed = await resumeWithoutHuman(deps(), input);
    logger.info('run resumed without a human', {
      attempt: resumed.attempt,
      capacityProvider: resumed.capacityProvider,
      stop: input.result ? 'interrupted' : 'lost',
    });
    return resumed;
  };
}

export const handler = createAutomaticResumeHandler(lazyOrchestratorDeps(automaticResumeDepsFromEnv));
