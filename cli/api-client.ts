import * as z from 'zod';
import { RunEvent, RunView, type SubmitRunRequest } from '../core/runs/schemas';
import { RunStatus } from '../core/runs/lifecycle';
import { InboxItemView, type ResolveInboxRequest } from '../core/inbox/inbox-item';
import type { RequestSigner } from './sigv4';

/**
 * The HTTP client of the Nightshift API (docs/api.md) the CLI uses, for local mode and for a deployed stack.
 * Every answer is checked with zod; every failure becomes an `ApiError` whose message is one clear line.
 */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: string,
    readonly details: readonly { path: string; message: string }[] = [],
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const ErrorEnvelope = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
/** What API Gateway itself answers (no route, IAM refused, throttled): `{"message": "..."}`. */
const GatewayError = z.object({ message: z.string() });

export const SubmitAnswer = z.object({
  runId: z.string(),
  status: RunStatus,
  links: z.record(z.string(), z.string()).optional(),
});
export type SubmitAnswer = z.infer<typeof SubmitAnswer>;

export const RunPage = z.object({ runs: z.array(RunView), nextCursor: z.string().nullable() });
export type RunPage = z.infer<typeof RunPage>;

export const EventPage = z.object({ events: z.array(RunEvent), nextCursor: z.string().nullable() });
export type EventPage = z.infer<typeof EventPage>;

export interface ListRunsFilter {
  status?: string;
  repo?: string;
  requester?: string;
  limit?: number;
  cursor?: string;
}

export const InboxPage = z.object({ items: z.array(InboxItemView), nextCursor: z.string().nullable() });
export type InboxPage = z.infer<typeof InboxPage>;

export interface InboxFilter {
  type?: string;
  state?: string;
  repo?: string;
  requester?: string;
  limit?: number;
  cursor?: string;
}

export interface ApiClientOptions {
  baseUrl: string;
  /** SigV4 for a deployed stack with IAM auth. */
  signer?: RequestSigner;
  /** A bearer token for a deployed stack with JWT auth. */
  bearerToken?: string;
  userAgent?: string;
}

export class ApiClient {
  readonly baseUrl: URL;

  constructor(private readonly options: ApiClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new ApiError(`the API URL ${JSON.stringify(options.baseUrl)} is not a URL`, null, 'bad_api_url');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ApiError(`the API URL must be http(s), not ${url.protocol}`, null, 'bad_api_url');
    this.baseUrl = url;
  }

  async submit(request: SubmitRunRequest, options: { idempotencyKey?: string; source?: 'api' | 'cli' } = {}): Promise<SubmitAnswer> {
    const headers: Record<string, string> = { 'x-nightshift-source': options.source ?? 'cli' };
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    return SubmitAnswer.parse(await this.call('POST', '/v1/runs', { body: request, headers }));
  }

  async getRun(runId: string): Promise<RunView> {
    return RunView.parse(await this.call('GET', `/v1/runs/${encodeURIComponent(runId)}`));
  }

  async listRuns(filter: ListRunsFilter = {}): Promise<RunPage> {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) query[k] = String(v);
    return RunPage.parse(await this.call('GET', '/v1/runs', { query }));
  }

  async cancel(runId: string): Promise<unknown> {
    return this.call('POST', `/v1/runs/${encodeURIComponent(runId)}/cancel`, { body: {} });
  }

  async events(runId: string, page: { cursor?: string; limit?: number } = {}): Promise<EventPage> {
    const query: Record<string, string> = {};
    if (page.cursor) query.cursor = page.cursor;
    if (page.limit) query.limit = String(page.limit);
    return EventPage.parse(await this.call('GET', `/v1/runs/${encodeURIComponent(runId)}/events`, { query }));
  }

  async inbox(filter: InboxFilter = {}): Promise<InboxPage> {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) query[k] = String(v);
    return InboxPage.parse(await this.call('GET', '/v1/inbox', { query }));
  }

  async inboxItem(itemId: string): Promise<InboxItemView> {
    return InboxItemView.parse(await this.call('GET', `/v1/inbox/${encodeURIComponent(itemId)}`));
  }

  /** `POST /v1/inbox/{itemId}`: answer, approve, reject or dismiss (the same resolution again is 200, another 409). */
  async resolveInboxItem(itemId: string, resolution: ResolveInboxRequest): Promise<InboxItemView> {
    return InboxItemView.parse(await this.call('POST', `/v1/inbox/${encodeURIComponent(itemId)}`, { body: resolution }));
  }

  /** The spend circuit breaker's switch: status without a change, else pause or resume (`/v1/admin/intake`, IAM only). */
  async intake(change?: { action: 'pause' | 'resume'; reason?: string }): Promise<unknown> {
    return change ? this.call('POST', '/v1/admin/intake', { body: change }) : this.call('GET', '/v1/admin/intake');
  }

  /** Local mode's forge (its /v1/health names it); undefined for a deployed stack or anything else. */
  async localForgeUrl(): Promise<string | undefined> {
    try {
      const health = z.object({ forge: z.string().url() }).safeParse(await this.call('GET', '/v1/health', { probe: true }));
      return health.success ? health.data.forge : undefined;
    } catch {
      return undefined;
    }
  }

  async health(): Promise<boolean> {
    try {
      await this.call('GET', '/v1/health');
      return true;
    } catch (error) {
      if (error instanceof ApiError) return false;
      throw error;
    }
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; query?: Record<string, string>; headers?: Record<string, string>; probe?: boolean } = {},
  ): Promise<unknown> {
    const url = new URL(this.baseUrl.toString());
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    let headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.options.userAgent ?? 'nightshift-cli',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    };
    if (this.options.bearerToken) headers.authorization = `Bearer ${this.options.bearerToken}`;
    if (this.options.signer) headers = await this.options.signer.sign({ method, url, headers, body });
    let response: Response;
    try {
      response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      throw new ApiError(
        `cannot reach the Nightshift API at ${this.baseUrl.origin}: ${networkReason(error)}${apiUrlHint(this.baseUrl, false)}`,
        null,
        'unreachable',
      );
    }
    const text = await response.text();
    const requestId = response.headers.get('x-request-id') ?? response.headers.get('apigw-requestid');
    let json: unknown = undefined;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (response.ok) {
      if (json === undefined && text.length > 0)
        throw new ApiError(
          `the API answered ${method} ${path} with something that is not JSON${apiUrlHint(this.baseUrl, true)}`,
          response.status,
          'bad_response',
          [],
          requestId,
        );
      return json;
    }
    const envelope = ErrorEnvelope.safeParse(json);
    if (envelope.success) {
      const { code, message, details = [] } = envelope.data.error;
      const detailText =
        details.length > 0 && !details.every((d) => message.includes(d.message))
          ? ` (${details.map((d) => `${d.path}: ${d.message}`).join('; ')})`
          : '';
      throw new ApiError(`${message}${detailText} [${code}, HTTP ${response.status}]`, response.status, code, details, requestId);
    }
    const gateway = GatewayError.safeParse(json);
    const reason = gateway.success ? gateway.data.message : text.slice(0, 200).replace(/\s+/g, ' ').trim() || response.statusText;
    // Nightshift answers its own errors in the envelope: a page without one is another server, and a
    // gateway's 404 is either a route this API lacks or another API, which its OpenAPI document tells apart.
    const elsewhere = !options.probe && (!gateway.success || (response.status === 404 && !(await this.servesNightshiftApi())));
    throw new ApiError(
      `${method} ${path} failed: ${reason} [HTTP ${response.status}]${elsewhere ? apiUrlHint(this.baseUrl, true) : ''}`,
      response.status,
      `http_${response.status}`,
      [],
      requestId,
    );
  }

  /** Whether the base URL serves Nightshift's OpenAPI document (GET /v1/openapi.json). */
  private async servesNightshiftApi(): Promise<boolean> {
    try {
      const document = z
        .object({ openapi: z.string(), info: z.object({ title: z.literal('Nightshift API') }) })
        .safeParse(await this.call('GET', '/v1/openapi.json', { probe: true }));
      return document.success;
    } catch {
      return false;
    }
  }
}

/**
 * What to check when --api (or NIGHTSHIFT_API) seems to name something other than the Nightshift API:
 * `reached` false when nothing answered, true when a server answered that is not Nightshift's API.
 */
export function apiUrlHint(baseUrl: URL, reached: boolean): string {
  const path = baseUrl.pathname.replace(/\/+$/, '');
  if (/\/v1$/.test(path))
    return `. Hint: drop "/v1" from --api (${baseUrl.origin}${path}): it is the API's base URL, and the CLI adds /v1/...`;
  const local = baseUrl.hostname === '127.0.0.1' || baseUrl.hostname === 'localhost' || baseUrl.hostname === '[::1]';
  if (local && !reached)
    return '. Hint: start local mode with `npm start` (or `nightshift dev`) in the clone; it listens on 127.0.0.1:8787 unless PORT says otherwise';
  return `. Hint: ${baseUrl.href} does not look like the Nightshift API; --api (or NIGHTSHIFT_API) must be a stack's ApiUrl output (https://<id>.execute-api.<region>.amazonaws.com/) or local mode's http://127.0.0.1:8787`;
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (cause?.code === 'ENOTFOUND') return 'host not found';
  if ((error as Error).name === 'TimeoutError') return 'no answer within 30 seconds';
  return cause?.message ?? (error as Error).message;
}
