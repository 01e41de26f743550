import * as z from 'zod';
import { RepoName } from '../../core/config/schema';
import { InboxItemType, InboxStateFilter } from '../../core/inbox/inbox-item';
import { RunStatus } from '../../core/runs/lifecycle';
import { RunId } from '../../core/runs/schemas';
import { oddUnicodeReason } from '../../core/runs/text';

/** Query strings arrive as text: a limit is 1-3 digits, then a bounded integer. */
const limit = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,3}$/, `must be an integer from 1 to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(1, `must be an integer from 1 to ${max}`).max(max, `must be an integer from 1 to ${max}`))
    .default(fallback);

/** Opaque to callers; the store decides whether it is one of its own (InvalidCursorError → 400 invalid_cursor). */
const cursor = z.string().min(1).max(2_048);

export const ListRunsQuery = z
  .object({
    status: RunStatus.optional(),
    repo: RepoName.optional(),
    requester: z
      .string()
      .min(1)
      .max(512)
      .refine((s) => oddUnicodeReason(s) === undefined, 'contains control or invisible characters')
      .optional(),
    limit: limit(100, 20),
    cursor: cursor.optional(),
  })
  .strict();
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

export const RunEventsQuery = z
  .object({
    limit: limit(500, 100),
    cursor: cursor.optional(),
  })
  .strict();

/** Path parameter `runId`. An id that cannot be a run id is answered like an unknown one (404). */
export const RunIdPath = z.object({ runId: RunId }).strict();

/** `POST /v1/runs/{runId}/cancel` takes no options: an empty body or `{}`. */
export const CancelRunBody = z.object({}).strict();

/** Who is submitting: the CLI says so in a header; the HTTP API cannot claim the GitHub or schedule sources. */
export const SubmitSourceHeader = z.enum(['api', 'cli']).default('api');

/** `GET /v1/inbox`: the filters of docs/api.md#requests; `state` is `open` unless asked. */
export const ListInboxQuery = z
  .object({
    type: InboxItemType.optional(),
    state: InboxStateFilter.default('open'),
    repo: RepoName.optional(),
    requester: ListRunsQuery.shape.requester,
    limit: limit(100, 20),
    cursor: cursor.optional(),
  })
  .strict();
export type ListInboxQuery = z.infer<typeof ListInboxQuery>;
