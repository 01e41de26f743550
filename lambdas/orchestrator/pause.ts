import { PauseTaskInput } from '../../core/inbox/pause-report';
import { pauseRun, type PauseDeps } from '../../core/runs/pause';
import { pauseDepsFromEnv, lazyOrchestratorDeps, orchestratorLogger } from './deps';

export interface PauseTaskOutput {
  runId: string;
  itemId: string;
}

/**
 * The Pause task, invoked with lambda:invoke.waitForTaskToken: records the inbox item with the
 * token, stops the task, frees the slots, marks the run WAITING_FOR_HUMAN. Its return value is not
 * the state's result: the state completes when an answer (or the timeout) completes the token.
 */
export function createPauseHandler(deps: () => PauseDeps) {
  return async function handler(event: unknown): Promise<PauseTaskOutput> {
    const input = PauseTaskInput.parse(event);
    const logger = orchestratorLogger.createChild({ persistentKeys: { runId: input.runId } });
    const item = await pauseRun(deps(), input);
    logger.info('run paused', { itemId: item.itemId, type: item.type });
    return { runId: input.runId, itemId: item.itemId };
  };
}

export const handler = createPauseHandler(lazyOrchestratorDeps(pauseDepsFromEnv));
