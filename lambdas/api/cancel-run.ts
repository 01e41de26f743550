import { cancelRun } from '../../core/runs/cancel';
import { cancelDepsFromEnv, lazyApiDeps, type CancelApiDeps } from './deps';
import { jsonBody, parseInput } from './http';
import { runIdFromPath } from './get-run';
import { CancelRunBody } from './query-schemas';
import { apiRoute, type ApiHandler } from './route';
import type { CancelRunAnswer } from './answers';

/** `POST /v1/runs/{runId}/cancel` */
export function cancelRunHandler(getDeps: () => CancelApiDeps): ApiHandler {
  return apiRoute('cancel-run', getDeps, async ({ event, deps, requester, access, log }) => {
    const runId = runIdFromPath(event);
    parseInput(CancelRunBody, jsonBody(event, {}), 'request body');
    const cancelled = await cancelRun(deps, { runId, requester, access });
    log.info('run cancel accepted', { status: cancelled.status });
    // The ended run is counted by finalizeRun (RunsCancelled), on whichever path ends it.
    return { statusCode: 202, body: cancelled satisfies CancelRunAnswer };
  });
}

export const handler = cancelRunHandler(lazyApiDeps(cancelDepsFromEnv));
