import { requesterIdentity } from '../../core/runs/requester';
import { toRunView } from '../../core/runs/view';
import { lazyApiDeps, type ApiDeps } from './deps';
import { parseInput } from './http';
import { ListRunsQuery } from './query-schemas';
import { apiRoute, type ApiHandler } from './route';

/** `GET /v1/runs`: newest first, filtered by status, repo or requester, paged with an opaque cursor. */
export function listRunsHandler(getDeps: () => ApiDeps): ApiHandler {
  return apiRoute('list-runs', getDeps, async ({ event, deps }) => {
    const query = parseInput(ListRunsQuery, event.queryStringParameters ?? {}, 'query');
    const page = await deps.runs.list({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.repo ? { repo: query.repo } : {}),
      // Runs are stored under the role of an assumed-role caller: any of its session ARNs finds them.
      ...(query.requester ? { requester: requesterIdentity(query.requester) } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { statusCode: 200, body: { runs: page.runs.map((run) => toRunView(run)), nextCursor: page.nextCursor } };
  });
}

export const handler = listRunsHandler(lazyApiDeps());
