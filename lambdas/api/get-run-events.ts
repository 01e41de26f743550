import { maySeeRun } from '../../core/runs/access';
import { lazyApiDeps, readApiDepsFromEnv, type ReadApiDeps } from './read-deps';
import { parseInput } from './http';
import { runIdFromPath, unknownRun } from './get-run';
import { RunEventsQuery } from './query-schemas';
import { apiRoute, type ApiHandler } from './route';
import type { RunEventsAnswer } from './answers';

/** `GET /v1/runs/{runId}/events`: the run's timeline, oldest first. */
export function getRunEventsHandler(getDeps: () => ReadApiDeps): ApiHandler {
  return apiRoute('get-run-events', getDeps, async ({ event, deps, access }) => {
    const runId = runIdFromPath(event);
    const query = parseInput(RunEventsQuery, event.queryStringParameters ?? {}, 'query');
    // The events are read only once the caller may see the run; someone else's run is unknown.
    const run = await deps.runs.get(runId);
    if (!run || !maySeeRun(access, run)) throw unknownRun();
    const page = await deps.events.list(runId, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
    return { statusCode: 200, body: { runId, events: page.events, nextCursor: page.nextCursor } satisfies RunEventsAnswer };
  });
}

export const handler = getRunEventsHandler(lazyApiDeps(readApiDepsFromEnv));
