import * as z from 'zod';
import { InboxItemView } from '../../core/inbox/inbox-item';
import { RunStatus } from '../../core/runs/lifecycle';
import { RunEvent, RunId, RunView } from '../../core/runs/schemas';

/**
 * What the API answers, as zod schemas: the handlers' bodies are typed by them and the OpenAPI
 * document (lambdas/api/openapi.ts) describes them, so the description cannot drift from the answers.
 */

export const ErrorDetail = z.object({ path: z.string(), message: z.string() }).strict();

/** Every 4xx and 5xx a handler answers (docs/api.md#errors). */
export const ErrorEnvelope = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.array(ErrorDetail).optional() }).strict(),
  })
  .strict();
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

export const RunLinks = z.object({ self: z.string(), events: z.string(), cancel: z.string() }).strict();

/** `POST /v1/runs` → 202. */
export const SubmitRunAnswer = z.object({ runId: RunId, status: z.literal('QUEUED'), links: RunLinks }).strict();
export type SubmitRunAnswer = z.infer<typeof SubmitRunAnswer>;

/** `GET /v1/runs` → 200. */
export const RunListAnswer = z.object({ runs: z.array(RunView), nextCursor: z.string().nullable() }).strict();
export type RunListAnswer = z.infer<typeof RunListAnswer>;

/** `GET /v1/inbox`: a page of items, newest first. */
export const InboxListAnswer = z.object({ items: z.array(InboxItemView), nextCursor: z.string().nullable() }).strict();
export type InboxListAnswer = z.infer<typeof InboxListAnswer>;

/** `GET /v1/runs/{runId}/events` → 200. */
export const RunEventsAnswer = z.object({ runId: RunId, events: z.array(RunEvent), nextCursor: z.string().nullable() }).strict();
export type RunEventsAnswer = z.infer<typeof RunEventsAnswer>;

/** `POST /v1/runs/{runId}/cancel` → 202. */
export const CancelRunAnswer = z.object({ runId: RunId, status: RunStatus, cancelRequested: z.literal(true) }).strict();
export type CancelRunAnswer = z.infer<typeof CancelRunAnswer>;

/** `GET|POST /v1/admin/intake` → 200: the spend circuit breaker's switch. */
export const IntakeStatusAnswer = z.object({ paused: z.boolean(), reason: z.string().nullable(), at: z.string().nullable() }).strict();

/** `POST /v1/webhooks/github` → 200 (a delivery seen before) or 202 (acted on or ignored), with what was done. */
export const WebhookAnswer = z.object({ status: z.string(), reason: z.string().optional() }).catchall(z.unknown());

/**
 * `GET /v1/runs/{runId}/diff`: the run branch against its base, as GitHub's compare diff text, with
 * `.nightshift.yml` of the base (its protected paths). The console marks the risky lines itself
 * (console/server/run-diff.ts), as local mode's console does with the forge's diff.
 */
export const RunDiffAnswer = z
  .object({
    runId: RunId,
    repo: z.string(),
    base: z.string(),
    head: z.string(),
    /** `git diff base...head` as GitHub answers a compare; cut at 1 MiB (`truncated`). */
    diff: z.string(),
    truncated: z.boolean(),
    nightshiftYml: z.string().nullable(),
  })
  .strict();
export type RunDiffAnswer = z.infer<typeof RunDiffAnswer>;
