import * as z from 'zod';
import { RunEvent, RunView, type SubmitRunRequest } from '../core/runs/schemas';
import { RunStatus } from '../core/runs/lifecycle';
import type { RequestSigner } from './sigv4';

/**
 * The HTTP client of the Nightshift API (SPEC §3) the CLI uses, for local mode and for a deployed stack.
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

export interface InboxAnswer {
  action: 'approve' | 'reject' | 'answer';
  answer?: string;
  extraBudgetUsd?: number;
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
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApiError(`the API URL must be http(s), not ${url.protocol}`, null, 'bad_api_url');
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

  async inbox(): Promise<unknown> {
    return this.call('GET', '/v1/inbox');
  }

  async answer(itemId: string, answer: InboxAnswer): Promise<unknown> {
    return this.call('POST', `/v1/inbox/${encodeURIComponent(itemId)}`, { body: answer });
  }

  /** The spend circuit breaker's switch: status without a change, else pause or resume (`/v1/admin/intake`, IAM only). */
  async intake(change?: { action: 'pause' | 'resume'; reason?: string }): Promise<unknown> {
    return change ? this.call('POST', '/v1/admin/intake', { body: change }) : this.call('GET', '/v1/admin/intake');
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

  private async call(method: 'GET' | 'POST', path: string, options: { body?: unknown; query?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<unknown> {
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
      throw new ApiError(`cannot reach the Nightshift API at ${this.baseUrl.origin}: ${networkReason(error)}`, null, 'unreachable');
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
      if (json === undefined && text.length > 0) throw new ApiError(`the API answered ${method} ${path} with something that is not JSON`, response.status, 'bad_response', [], requestId);
      return json;
    }
    const envelope = ErrorEnvelope.safeParse(json);
    if (envelope.success) {
      const { code, message, details = [] } = envelope.data.error;
      const detailText = details.length > 0 && !details.every((d) => message.includes(d.message)) ? ` (${details.map((d) => `${d.path}: ${d.message}`).join('; ')})` : '';
      throw new ApiError(`${message}${detailText} [${code}, HTTP ${response.status}]`, response.status, code, details, requestId);
    }
    const gateway = GatewayError.safeParse(json);
    const reason = gateway.success ? gateway.data.message : text.slice(0, 200).replace(/\s+/g, ' ').trim() || response.statusText;
    throw new ApiError(`${method} ${path} failed: ${reason} [HTTP ${response.status}]`, response.status, `http_${response.status}`, [], requestId);
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (is `nightshift dev` running, or is --api right?)';
  if (cause?.code === 'ENOTFOUND') return 'host not found';
  if ((error as Error).name === 'TimeoutError') return 'no answer within 30 seconds';
  return cause?.message ?? (error as Error).message;
}
