import { maySeeRun } from '../../core/runs/access';
import { toRunView } from '../../core/runs/view';
import { lazyApiDeps, readApiDepsFromEnv, type ReadApiDeps } from './read-deps';
import { HttpError, type ApiEvent } from './http';
import { RunIdPath } from './query-schemas';
import { apiRoute, type ApiHandler } from './route';

/** The answer for an unknown run id, for a path segment that cannot be a run id, and for someone else's run. */
export function unknownRun(): HttpError {
  return new HttpError(404, 'run_not_found', 'no run with this id');
}

/** The `runId` path parameter, or a 404 when it cannot name a run. */
export function runIdFromPath(event: ApiEvent): string {
  const path = RunIdPath.safeParse({ runId: event.pathParameters?.runId });
  if (!path.success) throw unknownRun();
  return path.data.runId;
}

/** `GET /v1/runs/{runId}` */
export function getRunHandler(getDeps: () => ReadApiDeps): ApiHandler {
  return apiRoute('get-run', getDeps, async ({ event, deps, access }) => {
    const run = await deps.runs.get(runIdFromPath(event));
    // Someone else's run is answered exactly as an unknown one: its existence is not revealed.
    if (!run || !maySeeRun(access, run)) throw unknownRun();
    // A queued run's position is counted now (the entries ahead of it in the queue index), not the one Admit stored.
    const position =
      run.status === 'QUEUED' && deps.queuePositions ? await deps.queuePositions.position(run.runId, run.priority ?? 'normal') : undefined;
    return { statusCode: 200, body: toRunView(run, position) };
  });
}

export const handler = getRunHandler(lazyApiDeps(readApiDepsFromEnv));
