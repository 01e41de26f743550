import { createLogger } from '../../core/observability/logger';
import type { Context, SNSEvent } from 'aws-lambda';
import * as z from 'zod';
import { requiredEnv } from '../../core/env';
import { emitAll, type MetricsSink } from '../../core/metrics/emf';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import type { IntakeFlagPort } from '../../core/store/ports';
import type { ScheduleLog } from '../../core/runs/schedule-submit';
import { createIntakeFlag } from '../../adapters/dynamodb/intake-flag';
import { opsDynamoDocument } from './clients';

/**
 * The spend circuit breaker. Subscribed to the alarm topic (filtered to the spend alarm); when the
 * alarm enters ALARM it pauses intake: new submissions get 503, schedules skip, running runs keep
 * going under their own budgets. It never resumes by itself: a spend spike needs a human look, and
 * `nightshift intake resume` (POST /v1/admin/intake) is the way back.
 */

/** The part of a CloudWatch alarm notification (the SNS message body) the breaker reads. */
export const AlarmNotification = z
  .object({
    AlarmName: z.string().min(1).max(255),
    NewStateValue: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
    NewStateReason: z.string().max(10_000).default(''),
    StateChangeTime: z.string().optional(),
  })
  .passthrough();

export interface CircuitBreakerDeps {
  intake: IntakeFlagPort;
  metrics: MetricsSink;
  log: ScheduleLog;
  /** The one alarm allowed to pause intake. */
  spendAlarmName: string;
}

export type BreakerDecision = 'tripped' | 'already_paused' | 'ignored';

export async function onAlarmNotification(deps: CircuitBreakerDeps, message: string): Promise<BreakerDecision> {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    deps.log.warn('alarm topic message is not JSON; ignored', { length: message.length });
    return 'ignored';
  }
  const parsed = AlarmNotification.safeParse(json);
  if (!parsed.success) {
    deps.log.warn('alarm topic message is not a CloudWatch alarm notification; ignored', {});
    return 'ignored';
  }
  const alarm = parsed.data;
  // The subscription filter already selects this; checked again so a misrouted message cannot pause intake.
  if (alarm.AlarmName !== deps.spendAlarmName || alarm.NewStateValue !== 'ALARM') {
    deps.log.info('alarm notification is not the spend alarm entering ALARM; ignored', {
      alarmName: alarm.AlarmName,
      state: alarm.NewStateValue,
    });
    return 'ignored';
  }
  const current = await deps.intake.get();
  if (current.paused) {
    deps.log.info('spend alarm fired while intake is already paused', { pausedAt: current.at, pausedReason: current.reason });
    return 'already_paused';
  }
  const reason = `spend alarm ${alarm.AlarmName}: ${alarm.NewStateReason}`.slice(0, 1_000);
  await deps.intake.set(true, reason);
  emitAll(deps.metrics, [{ name: 'CircuitBreakerTripped', value: 1, dimensions: {} }]);
  deps.log.warn('circuit breaker tripped: run intake paused until an operator resumes it', { alarmName: alarm.AlarmName, reason });
  return 'tripped';
}

const logger = createLogger({ serviceName: 'nightshift-circuit-breaker' });
let deps: CircuitBreakerDeps | undefined;

function depsFromEnv(): CircuitBreakerDeps {
  return {
    intake: createIntakeFlag(opsDynamoDocument(), requiredEnv('CONTROL_TABLE')),
    metrics: createLambdaMetricsSink(),
    log: logger,
    spendAlarmName: requiredEnv('SPEND_ALARM_NAME'),
  };
}

export async function handler(event: SNSEvent, context?: Context): Promise<BreakerDecision[]> {
  if (context) logger.addContext(context);
  deps ??= depsFromEnv();
  const decisions: BreakerDecision[] = [];
  // A failure to set the flag throws: SNS retries the delivery, and the alarm e-mail still reaches a human.
  for (const record of event.Records) decisions.push(await onAlarmNotification(deps, record.Sns.Message));
  return decisions;
}
