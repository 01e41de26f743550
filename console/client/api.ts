import * as z from 'zod/mini';
// Types only (erased from the bundle): the API's own request schema.
import type { ResolveInboxRequest } from '../../core/inbox/inbox-item';
import {
  ConsoleConfigAnswer,
  EventPageAnswer,
  ErrorAnswer,
  InboxItemAnswer,
  InboxPageAnswer,
  PullAnswer,
  RunAnswer,
  RunDiffAnswer,
  RunPageAnswer,
  SubmitAnswer,
  type EventAnswer,
} from './answers';

/**
 * The console's only way to the platform: its own origin's `/v1` (the API, or `nightshift console`'s
 * signing proxy in front of it) and `/_console` (the console server's read-only extras). JSON in and
 * out, every answer checked (answers.ts); every failure becomes an ApiProblem with the API's error
 * code and message.
 */
export class ApiProblem extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

function problemOf(status: number, json: unknown): ApiProblem {
  const parsed = ErrorAnswer.safeParse(json);
  if (parsed.success && 'error' in parsed.data)
    return new ApiProblem(parsed.data.error.message, status, parsed.data.error.code, parsed.data.error.details ?? []);
  if (parsed.success && 'message' in parsed.data) return new ApiProblem(parsed.data.message, status, `http_${status}`);
  return new ApiProblem(`the server answered ${status}`, status, `http_${status}`);
}

async function call<T>(
  schema: z.ZodMiniType<T>,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiProblem('cannot reach the console server', 0, 'unreachable');
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiProblem(`the server answered ${response.status} with something that is not JSON`, response.status, 'bad_response');
  }
  if (!response.ok) throw problemOf(response.status, json);
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new ApiProblem(
      `the server's answer to ${method} ${path.split('?')[0]} is not what the console expects`,
      response.status,
      'bad_response',
    );
  return parsed.data;
}

export type { EventAnswer };

export const api = {
  listRuns(filter: { status?: string; repo?: string; requester?: string; cursor?: string; limit?: number }) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined && v !== '') query.set(k, String(v));
    return call(RunPageAnswer, 'GET', `/v1/runs?${query}`);
  },
  getRun(runId: string) {
    return call(RunAnswer, 'GET', `/v1/runs/${encodeURIComponent(runId)}`);
  },
  events(runId: string, cursor: string | undefined) {
    const query = new URLSearchParams({ limit: '500', ...(cursor ? { cursor } : {}) });
    return call(EventPageAnswer, 'GET', `/v1/runs/${encodeURIComponent(runId)}/events?${query}`);
  },
  submit(request: { repo: string; prompt: string; budgetUsd?: number; plan?: boolean }, idempotencyKey: string) {
    return call(SubmitAnswer, 'POST', '/v1/runs', request, { 'idempotency-key': idempotencyKey });
  },
  async cancel(runId: string): Promise<void> {
    // 202 with the run; the page re-reads the run itself.
    await call(z.unknown(), 'POST', `/v1/runs/${encodeURIComponent(runId)}/cancel`, {});
  },
  listInbox(filter: { state: 'open' | 'resolved' | 'all'; cursor?: string; limit?: number }) {
    const query = new URLSearchParams({
      state: filter.state,
      limit: String(filter.limit ?? 100),
      ...(filter.cursor ? { cursor: filter.cursor } : {}),
    });
    return call(InboxPageAnswer, 'GET', `/v1/inbox?${query}`);
  },
  /** `POST /v1/inbox/{itemId}`: the resolved item; the API's 400, 404 and 409 come back as ApiProblem. */
  resolveInboxItem(itemId: string, request: ResolveInboxRequest) {
    return call(InboxItemAnswer, 'POST', `/v1/inbox/${encodeURIComponent(itemId)}`, request);
  },
  config() {
    return call(ConsoleConfigAnswer, 'GET', '/_console/config');
  },
  runDiff(runId: string) {
    return call(RunDiffAnswer, 'GET', `/_console/runs/${encodeURIComponent(runId)}/diff`);
  },
  pull(repo: string, number: number) {
    const [owner, name] = repo.split('/');
    return call(PullAnswer, 'GET', `/_console/pulls/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(name ?? '')}/${number}`);
  },
};
