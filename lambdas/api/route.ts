import type { StructuredLogger } from '../../core/observability/logger';
import type { Context } from 'aws-lambda';
import { emitAll } from '../../core/metrics/emf';
import type { MetricRecord } from '../../core/metrics/catalog';
import { runAccess, type RunAccess } from '../../core/runs/access';
import { callerOf } from './caller';
import type { ApiDeps } from './deps';
import { errorResponse, jsonResponse, requestIdOf, type ApiEvent, type ApiResult } from './http';
import { toHttpError } from './http-response';
import { apiLogger, apiMetrics } from './observability';

/** What every route needs of its deps: the configuration (who is an admin). */
export type RouteDeps = Pick<ApiDeps, 'config'>;

export interface RouteRequest<D extends RouteDeps = ApiDeps> {
  event: ApiEvent;
  deps: D;
  requestId: string;
  requester: string;
  /** Who the caller is and whether it is an admin (core/runs/access.ts), decided before any handler reads. */
  access: RunAccess;
  /** This request's logger: every line carries the request id, and the run id once known (`log.appendKeys({ runId })`). */
  log: StructuredLogger;
  context?: Context;
}

export interface RouteAnswer {
  statusCode: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Catalog metrics to emit with this answer (EMF), e.g. `runSubmittedMetrics(run)`. */
  metrics?: MetricRecord[];
}

export type ApiHandler = (event: ApiEvent, context?: Context) => Promise<ApiResult>;

/**
 * The shared shape of every API handler: request id, caller identity and admin standing, typed-error mapping to the error
 * envelope, `x-request-id` on every response, one log line and one EMF metric set per request.
 */
export function apiRoute<D extends RouteDeps>(
  route: string,
  deps: () => D,
  answer: (request: RouteRequest<D>) => Promise<RouteAnswer>,
): ApiHandler {
  return async (event, context) => {
    const requestId = requestIdOf(event);
    const log = apiLogger.createChild({ persistentKeys: { requestId, route } });
    if (context) log.addContext(context);
    const runId = event.pathParameters?.runId;
    if (runId !== undefined) log.appendKeys({ runId: runId.slice(0, 64) });
    let result: ApiResult;
    try {
      const routeDeps = deps();
      const access = runAccess(routeDeps.config.auth, callerOf(event, routeDeps.config.auth));
      const out = await answer({
        event,
        deps: routeDeps,
        requestId,
        requester: access.caller.requester,
        access,
        log,
        ...(context ? { context } : {}),
      });
      result = jsonResponse(out.statusCode, out.body, requestId, out.headers);
      emitAll(apiMetrics, out.metrics ?? []);
    } catch (err) {
      const httpError = toHttpError(err);
      if (httpError.statusCode >= 500)
        log.error('request failed', { statusCode: httpError.statusCode, code: httpError.code, error: err as Error });
      else log.info('request refused', { statusCode: httpError.statusCode, code: httpError.code, reason: httpError.message });
      result = errorResponse(httpError, requestId);
    }
    log.info('request answered', { statusCode: result.statusCode });
    const family = Math.floor(result.statusCode / 100);
    apiMetrics.emit({ name: family === 2 ? 'Http2xx' : family === 4 ? 'Http4xx' : 'Http5xx', value: 1, dimensions: { route } });
    return result;
  };
}
