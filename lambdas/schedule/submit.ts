import { createLogger } from '../../core/observability/logger';
import type { Context } from 'aws-lambda';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import { submitScheduledRun, type ScheduleSubmitDeps, type ScheduleSubmitResult } from '../../core/runs/schedule-submit';
import type { SubmitDeps } from '../../core/runs/submit';
import { lazyApiDeps, submitDepsFromEnv } from '../api/deps';

const logger = createLogger({ serviceName: 'nightshift-schedule' });
const metrics = createLambdaMetricsSink();

/**
 * EventBridge Scheduler target: one invocation per tick of a configured schedule, input
 * `{"schedule": "<name>", "scheduledTime": ..., "executionId": ...}`. Refusals return normally
 * (logged and counted); a fault throws so Scheduler's retry policy and dead-letter queue apply.
 */
export function scheduleSubmitHandler(getDeps: () => SubmitDeps) {
  return async (event: unknown, context?: Context): Promise<ScheduleSubmitResult> => {
    const log = logger.createChild();
    if (context) log.addContext(context);
    const deps: ScheduleSubmitDeps = { ...getDeps(), metrics, log };
    try {
      const result = await submitScheduledRun(deps, event);
      return result;
    } catch (err) {
      log.error('scheduled submission failed; Scheduler will retry, then dead-letter it', { error: err as Error });
      throw err;
    }
  };
}

export const handler = scheduleSubmitHandler(lazyApiDeps(submitDepsFromEnv));
