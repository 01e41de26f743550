import * as z from 'zod';
import { InboxItemView, ResolveInboxRequest } from '../../core/inbox/inbox-item';
import { RunView, SubmitRunRequest } from '../../core/runs/schemas';
import { IntakeChange } from '../ops/intake-change';
import {
  CancelRunAnswer,
  ErrorEnvelope,
  InboxListAnswer,
  IntakeStatusAnswer,
  RunDiffAnswer,
  RunEventsAnswer,
  RunListAnswer,
  SubmitRunAnswer,
  WebhookAnswer,
} from './answers';
import { ListInboxQuery, ListRunsQuery, RunEventsQuery } from './query-schemas';

/**
 * The API's OpenAPI 3.1 description (docs/api.md#the-openapi-document), built from the zod schemas the handlers parse their
 * input with and type their answers by. Served at `GET /v1/openapi.json` and written to
 * docs/schemas/openapi.json (`npm run schemas`); a test keeps the file up to date and another checks
 * every handler's answers against it.
 */

type JsonSchema = Record<string, unknown>;

/** Answers described once, referred to by name. */
const components = {
  RunView,
  SubmitRunRequest,
  SubmitRunAnswer,
  RunListAnswer,
  RunEventsAnswer,
  RunDiffAnswer,
  CancelRunAnswer,
  IntakeChange,
  IntakeStatusAnswer,
  WebhookAnswer,
  InboxItemView,
  InboxListAnswer,
  ResolveInboxRequest,
  ErrorEnvelope,
} as const;
type ComponentName = keyof typeof components;

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

/** Each component as JSON Schema 2020-12 (OpenAPI 3.1's dialect); references between them by name. */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(components)) registry.add(schema, { id });
  // Requests are described as a caller writes them (defaults optional), answers as a handler writes them.
  const input = z.toJSONSchema(registry, { io: 'input', uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }).schemas;
  const output = z.toJSONSchema(registry, { io: 'output', uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }).schemas;
  const requests = new Set<string>(['SubmitRunRequest', 'IntakeChange', 'ResolveInboxRequest']);
  const out: Record<string, JsonSchema> = {};
  for (const id of Object.keys(components)) {
    // Each component sits inside the document: no dialect or id of its own.
    const { $schema: _dialect, $id: _id, ...schema } = (requests.has(id) ? input[id] : output[id]) as JsonSchema;
    out[id] = schema;
  }
  return out;
}

/** Query parameters from a query schema: one parameter per field, described as the caller writes it. */
function queryParameters(schema: z.ZodObject): JsonSchema[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const { $schema: _dialect, ...described } = z.toJSONSchema(field as z.ZodType, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    return { name, in: 'query', required: false, schema: described };
  });
}

const runIdParameter = {
  name: 'runId',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' },
  description: 'a run id (ULID); anything else is answered 404',
};

const itemIdParameter = {
  name: 'itemId',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' },
  description: 'an inbox item id (ULID); anything else is answered 404',
};

const json = (name: ComponentName) => ({ content: { 'application/json': { schema: ref(name) } } });
const answer = (description: string, name: ComponentName) => ({ description, ...json(name) });
const refusal = (description: string) => answer(description, 'ErrorEnvelope');

/** The errors every handler may answer (docs/api.md#errors). */
const commonErrors = {
  '401': refusal('no caller identity in the request (unauthenticated)'),
  '500': refusal('a fault of ours (internal_error); quote x-request-id'),
};

export function openApiDocument(): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Nightshift API',
      version: '1',
      description:
        'Background coding agents: submit a run, follow it, cancel it, answer what it asks. Errors are {"error": {"code", "message", "details"?}}; every answer carries x-request-id. Generated from the zod schemas the handlers use (lambdas/api/openapi.ts).',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ iam: [] }, { jwt: [] }],
    paths: {
      '/v1/runs': {
        post: {
          operationId: 'submitRun',
          summary: 'Submit a run',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,255}$' },
              description: 'the same key and body answer the same run; another body is 409',
            },
            { name: 'x-nightshift-source', in: 'header', required: false, schema: { type: 'string', enum: ['api', 'cli'] } },
          ],
          requestBody: { required: true, ...json('SubmitRunRequest') },
          responses: {
            '202': answer('the run is queued', 'SubmitRunAnswer'),
            '400': refusal('malformed_json, malformed_body or invalid_request (details name each field)'),
            '403': refusal('repo_not_allowed or requester_not_allowed'),
            '409': refusal('idempotency_key_reused or idempotency_in_progress'),
            '413': refusal('body_too_large: the body exceeds 64 KiB'),
            '429': refusal("budget_exhausted: the requester's or the org's daily budget cannot cover the run (Retry-After)"),
            '503': refusal('intake_paused or execution_start_failed (Retry-After)'),
            ...commonErrors,
          },
        },
        get: {
          operationId: 'listRuns',
          summary: 'List runs, newest first',
          parameters: queryParameters(ListRunsQuery),
          responses: {
            '200': answer('a page of runs', 'RunListAnswer'),
            '400': refusal('invalid_request or invalid_cursor'),
            ...commonErrors,
          },
        },
      },
      '/v1/runs/{runId}': {
        get: {
          operationId: 'getRun',
          summary: 'One run',
          parameters: [runIdParameter],
          responses: {
            '200': answer('the run', 'RunView'),
            '404': refusal('run_not_found (unknown, not a run id, or not yours)'),
            ...commonErrors,
          },
        },
      },
      '/v1/runs/{runId}/cancel': {
        post: {
          operationId: 'cancelRun',
          summary: 'Cancel a run: a queued run never starts, a running one is stopped',
          parameters: [runIdParameter],
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false } } } },
          responses: {
            '202': answer('cancel accepted (again, for a cancelled run)', 'CancelRunAnswer'),
            '400': refusal('malformed_json or invalid_request'),
            '404': refusal('run_not_found'),
            '409': refusal('run_ended: the run ended other than CANCELLED'),
            '413': refusal('body_too_large'),
            ...commonErrors,
          },
        },
      },
      '/v1/runs/{runId}/events': {
        get: {
          operationId: 'getRunEvents',
          summary: "The run's timeline, oldest first",
          parameters: [runIdParameter, ...queryParameters(RunEventsQuery)],
          responses: {
            '200': answer('a page of events', 'RunEventsAnswer'),
            '400': refusal('invalid_request or invalid_cursor'),
            '404': refusal('run_not_found'),
            ...commonErrors,
          },
        },
      },
      '/v1/runs/{runId}/diff': {
        get: {
          operationId: 'getRunDiff',
          summary: "The run branch's diff against its base as GitHub compares them, with .nightshift.yml of the base",
          parameters: [runIdParameter],
          responses: {
            '200': answer('the diff text', 'RunDiffAnswer'),
            '404': refusal('run_not_found, or no_branch: the run has no branch on GitHub yet'),
            ...commonErrors,
          },
        },
      },
      '/v1/inbox': {
        get: {
          operationId: 'listInbox',
          summary: "Inbox items of the caller's runs (all for an admin), newest first; open ones by default",
          parameters: queryParameters(ListInboxQuery),
          responses: {
            '200': answer('a page of inbox items', 'InboxListAnswer'),
            '400': refusal('invalid_request or invalid_cursor'),
            ...commonErrors,
          },
        },
      },
      '/v1/inbox/{itemId}': {
        get: {
          operationId: 'getInboxItem',
          summary: 'One inbox item',
          parameters: [itemIdParameter],
          responses: {
            '200': answer('the item', 'InboxItemView'),
            '404': refusal('inbox_item_not_found (unknown, not an item id, or not yours)'),
            ...commonErrors,
          },
        },
        post: {
          operationId: 'resolveInboxItem',
          summary: 'Answer, approve, reject or dismiss an inbox item; the same resolution again is 200',
          parameters: [itemIdParameter],
          requestBody: { required: true, ...json('ResolveInboxRequest') },
          responses: {
            '200': answer('the item as resolved', 'InboxItemView'),
            '400': refusal('malformed_json, invalid_request or invalid_resolution (an action the item type does not take)'),
            '404': refusal('inbox_item_not_found'),
            '409': refusal('inbox_item_resolved: resolved otherwise before, expired, or closed with its run'),
            '413': refusal('body_too_large'),
            ...commonErrors,
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'This document',
          responses: {
            '200': { description: 'the OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } },
          },
        },
      },
      '/v1/admin/intake': {
        get: {
          operationId: 'getIntake',
          summary: "The spend circuit breaker's switch (IAM-signed callers only)",
          security: [{ iam: [] }],
          responses: {
            '200': answer('whether intake is paused', 'IntakeStatusAnswer'),
            '403': refusal('iam_required'),
            '500': commonErrors['500'],
          },
        },
        post: {
          operationId: 'changeIntake',
          summary: 'Pause or resume run intake (IAM-signed callers only)',
          security: [{ iam: [] }],
          requestBody: { required: true, ...json('IntakeChange') },
          responses: {
            '200': answer('the switch after the change', 'IntakeStatusAnswer'),
            '400': refusal('malformed_json or invalid_request'),
            '403': refusal('iam_required'),
            '413': refusal('body_too_large'),
            '500': commonErrors['500'],
          },
        },
      },
      '/v1/webhooks/github': {
        post: {
          operationId: 'githubWebhook',
          summary: 'GitHub App webhook (present when github.webhookSecret is configured); authenticated by X-Hub-Signature-256',
          security: [],
          parameters: ['X-Hub-Signature-256', 'X-GitHub-Event', 'X-GitHub-Delivery'].map((name) => ({
            name,
            in: 'header',
            required: true,
            schema: { type: 'string' },
          })),
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
          responses: {
            '200': answer('a delivery seen before: acknowledged, ignored', 'WebhookAnswer'),
            '202': answer('acted on, or ignored with the reason', 'WebhookAnswer'),
            '400': refusal('a delivery without the headers or fields Nightshift reads'),
            '401': refusal('the signature does not verify'),
            '413': refusal('body_too_large'),
            '500': commonErrors['500'],
          },
        },
      },
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        iam: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS SigV4 (service execute-api); auth.type "iam", the default',
        },
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'an OIDC token of auth.issuer for auth.audience; auth.type "jwt"',
        },
      },
    },
  };
}
