import { createLogger, type StructuredLogger } from '../../core/observability/logger';
import type { Context } from 'aws-lambda';
import { IntakeChange } from './intake-change';
import { requiredEnv } from '../../core/env';
import type { MetricsSink } from '../../core/metrics/emf';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import { createIntakeFlag } from '../../adapters/dynamodb/intake-flag';
import type { IntakeFlagPort } from '../../core/store/ports';
import { HttpError, errorResponse, jsonBody, jsonResponse, parseInput, requestIdOf, type ApiEvent, type ApiResult } from '../api/http';
import { toHttpError } from '../api/http-response';
import { opsDynamoDocument } from './clients';

/**
 * `GET /v1/admin/intake` (status) and `POST /v1/admin/intake` (`{"action": "pause"|"resume", "reason"?}`):
 * the operator's switch of the spend circuit breaker. IAM callers only, whatever the API's auth mode:
 * who may flip it is decided by IAM policy on `execute-api:Invoke` for `/v1/admin/*`.
 */

export interface IntakeStatus {
  paused: boolean;
  reason: string | null;
  at: string | null;
}

export interface IntakeAdminDeps {
  intake: IntakeFlagPort;
  metrics: MetricsSink;
  log: StructuredLogger;
}

const ROUTE = 'admin-intake';

function operatorOf(event: ApiEvent): string {
  const arn = event.requestContext.authorizer?.iam?.userArn;
  if (typeof arn === 'string' && arn.length > 0 && arn.length <= 512) return arn;
  throw new HttpError(403, 'iam_required', 'the intake switch is only open to IAM-signed requests');
}

async function answer(
  deps: IntakeAdminDeps,
  event: ApiEvent & { requestContext: { http?: { method?: string } } },
  log: StructuredLogger,
): Promise<IntakeStatus> {
  const operator = operatorOf(event);
  log.appendKeys({ operator });
  const method = (event.requestContext.http?.method ?? 'POST').toUpperCase();
  if (method === 'GET') return deps.intake.get();
  if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use GET or POST');
  const change = parseInput(IntakeChange, jsonBody(event), 'request body');
  const paused = change.action === 'pause';
  const reason = `${paused ? 'paused' : 'resumed'} by ${operator}${change.reason ? `: ${change.reason}` : ''}`;
  await deps.intake.set(paused, reason);
  log.warn(paused ? 'run intake paused by an operator' : 'run intake resumed by an operator', { reason });
  return deps.intake.get();
}

export function intakeAdminHandler(getDeps: () => IntakeAdminDeps) {
  return async (event: ApiEvent, context?: Context): Promise<ApiResult> => {
    const deps = getDeps();
    const requestId = requestIdOf(event);
    const log = deps.log.createChild({ persistentKeys: { requestId, route: ROUTE } });
    if (context) log.addContext(context);
    let result: ApiResult;
    try {
      result = jsonResponse(200, await answer(deps, event, log), requestId);
    } catch (err) {
      const httpError = toHttpError(err);
      if (httpError.statusCode >= 500) log.error('request failed', { statusCode: httpError.statusCode, error: err as Error });
      else log.info('request refused', { statusCode: httpError.statusCode, code: httpError.code });
      result = errorResponse(httpError, requestId);
    }
    const family = Math.floor(result.statusCode / 100);
    const name = family === 2 ? 'Http2xx' : family === 4 ? 'Http4xx' : 'Http5xx';
    deps.metrics.emit({ name, value: 1, dimensions: { route: ROUTE } });
    return result;
  };
}

let deps: IntakeAdminDeps | undefined;
export const handler = intakeAdminHandler(
  () =>
    (deps ??= {
      intake: createIntakeFlag(opsDynamoDocument(), requiredEnv('CONTROL_TABLE')),
      metrics: createLambdaMetricsSink(),
      log: createLogger({ serviceName: 'nightshift-admin' }),
    }),
);
