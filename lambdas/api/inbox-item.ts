import * as z from 'zod';
import { InboxItemId, ResolveInboxRequest } from '../../core/inbox/inbox-item';
import { listScope, maySeeRun } from '../../core/runs/access';
import { InboxItemNotFoundError, resolveInboxItem } from '../../core/runs/answer';
import { toInboxView } from '../../adapters/dynamodb/inbox-store';
import type { AnswerApiDeps } from './deps';
import type { ReadApiDeps } from './read-deps';
import { HttpError, jsonBody, parseInput, type ApiEvent } from './http';
import { ListInboxQuery } from './query-schemas';
import { apiRoute, type ApiHandler } from './route';

function unknownItem(): HttpError {
  return new HttpError(404, 'inbox_item_not_found', 'no inbox item with this id');
}

function itemIdFromPath(event: ApiEvent): string {
  const parsed = z.object({ itemId: InboxItemId }).safeParse({ itemId: event.pathParameters?.itemId });
  if (!parsed.success) throw unknownItem();
  return parsed.data.itemId;
}

/**
 * `GET /v1/inbox`: items newest first, filtered by type, state (`open` by default), repo or requester,
 * paged with an opaque cursor. Like the run list, a caller who is not an admin lists its own items
 * only: the requester is fixed before the query, and asking for someone else's is an empty page.
 */
export function listInboxHandler(getDeps: () => ReadApiDeps): ApiHandler {
  return apiRoute('list-inbox', getDeps, async ({ event, deps, access }) => {
    const query = parseInput(ListInboxQuery, event.queryStringParameters ?? {}, 'query');
    const scope = listScope(access, query.requester);
    if (scope === 'none') return { statusCode: 200, body: { items: [], nextCursor: null } };
    const page = await deps.inbox.list({
      state: query.state,
      limit: query.limit,
      ...(query.type ? { type: query.type } : {}),
      ...(query.repo ? { repo: query.repo } : {}),
      ...scope,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { statusCode: 200, body: { items: page.items.map(toInboxView), nextCursor: page.nextCursor } };
  });
}

/** `GET /v1/inbox/{itemId}`: one item of the caller's runs, or any for an admin (404 for anyone else). */
export function getInboxItemHandler(getDeps: () => ReadApiDeps): ApiHandler {
  return apiRoute('get-inbox-item', getDeps, async ({ event, deps, access }) => {
    const item = await deps.inbox.get(itemIdFromPath(event));
    if (!item || !maySeeRun(access, item)) throw unknownItem();
    return { statusCode: 200, body: toInboxView(item) };
  });
}

/** `POST /v1/inbox/{itemId}`: resolve it (idempotent: the same resolution again is 200, another is 409). */
export function resolveInboxItemHandler(getDeps: () => AnswerApiDeps): ApiHandler {
  return apiRoute('resolve-inbox-item', getDeps, async ({ event, deps, access, log }) => {
    const itemId = itemIdFromPath(event);
    const request = parseInput(ResolveInboxRequest, jsonBody(event), 'request body');
    try {
      const item = await resolveInboxItem(deps, { itemId, access, request });
      log.info('inbox item resolved', { itemId, runId: item.runId, action: request.action });
      return { statusCode: 200, body: item };
    } catch (err) {
      if (err instanceof InboxItemNotFoundError) throw unknownItem();
      throw err;
    }
  });
}
