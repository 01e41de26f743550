import { lazyApiDeps, type ApiDeps } from './deps';
import { parseInput } from './http';
import { runIdFromPath, unknownRun } from './get-run';
import { RunEventsQuery } from './query-schemas';
import { apiRoute, type ApiHandler } from './route';

/** `GET /v1/runs/{runId}/events`: the run's timeline, oldest first. */
export function getRunEventsHandler(getDeps: () => ApiDeps): ApiHandler {
  return apiRoute('get-run-events', getDeps, async ({ event, deps }) => {
    const runId = runIdFromPath(event);
    const query = parseInput(RunEventsQuery, event.queryStringParameters ?? {}, 'query');
    if (!(await deps.runs.get(runId))) throw unknownRun();
    const page = await deps.events.list(runId, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
    return { statusCode: 200, body: { runId, events: page.events, nextCursor: page.nextCursor } };
  });
}

export const handler = getRunEventsHandler(lazyApiDeps());
