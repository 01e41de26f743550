import { listScope } from '../../core/runs/access';
import { toRunView } from '../../core/runs/view';
import { lazyApiDeps, readApiDepsFromEnv, type ReadApiDeps } from './read-deps';
import { parseInput } from './http';
import { ListRunsQuery } from './query-schemas';
import { apiRoute, type ApiHandler } from './route';
import type { RunListAnswer } from './answers';

/**
 * `GET /v1/runs`: newest first, filtered by status, repo or requester, paged with an opaque cursor.
 * A caller who is not an admin lists its own runs only: the requester filter is fixed before the query
 * (so neither pages nor cursors can reach another requester's partition), and asking for someone
 * else's runs is an empty page.
 */
export function listRunsHandler(getDeps: () => ReadApiDeps): ApiHandler {
  return apiRoute('list-runs', getDeps, async ({ event, deps, access }) => {
    const query = parseInput(ListRunsQuery, event.queryStringParameters ?? {}, 'query');
    // Runs are stored under the role of an assumed-role caller: any of its session ARNs finds them.
    const scope = listScope(access, query.requester);
    if (scope === 'none') return { statusCode: 200, body: { runs: [], nextCursor: null } satisfies RunListAnswer };
    const page = await deps.runs.list({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.repo ? { repo: query.repo } : {}),
      ...scope,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { statusCode: 200, body: { runs: page.runs.map((run) => toRunView(run)), nextCursor: page.nextCursor } satisfies RunListAnswer };
  });
}

export const handler = listRunsHandler(lazyApiDeps(readApiDepsFromEnv));
