import type { ClassifiedDiff } from '../../core/console/risky-diff';
import type { RunEvent, RunView } from '../../core/runs/schemas';
import type { ConsoleConfig, PullView, RunDiff } from '../contract';

/**
 * The console's only way to the platform: its own origin's `/v1` (the API, or `nightshift console`'s
 * signing proxy in front of it) and `/_console` (the console server's read-only extras). JSON in and
 * out; every failure becomes an ApiProblem with the API's error code and message.
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the API's error envelope, or API Gateway's `{message}`, into one problem. */
function problemOf(status: number, json: unknown): ApiProblem {
  if (isRecord(json) && isRecord(json.error) && typeof json.error.message === 'string') {
    const details = Array.isArray(json.error.details)
      ? json.error.details.filter(isRecord).map((d) => ({ path: String(d.path ?? ''), message: String(d.message ?? '') }))
      : [];
    return new ApiProblem(json.error.message, status, typeof json.error.code === 'string' ? json.error.code : `http_${status}`, details);
  }
  const message = isRecord(json) && typeof json.message === 'string' ? json.message : `the server answered ${status}`;
  return new ApiProblem(message, status, `http_${status}`);
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
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
  return json;
}

/** Checks the fields the console relies on; the API's own schemas (core/runs/schemas) define them. */
function expectRecord(value: unknown, fields: readonly string[], what: string): Record<string, unknown> {
  if (!isRecord(value) || fields.some((f) => !(f in value))) throw new ApiProblem(`the server's answer is not ${what}`, 200, 'bad_response');
  return value;
}

const runFields = ['runId', 'repo', 'status', 'requester', 'createdAt', 'budgetUsd', 'costUsd', 'tokens'] as const;

function asRun(value: unknown): RunView {
  return expectRecord(value, runFields, 'a run') as unknown as RunView;
}

export interface RunPage {
  runs: RunView[];
  nextCursor: string | null;
}

export interface EventPage {
  events: RunEvent[];
  nextCursor: string | null;
}

export const api = {
  async listRuns(filter: { status?: string; repo?: string; requester?: string; cursor?: string; limit?: number }): Promise<RunPage> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined && v !== '') query.set(k, String(v));
    const page = expectRecord(await call('GET', `/v1/runs?${query}`), ['runs'], 'a page of runs');
    if (!Array.isArray(page.runs)) throw new ApiProblem('the server’s answer is not a page of runs', 200, 'bad_response');
    return { runs: page.runs.map(asRun), nextCursor: typeof page.nextCursor === 'string' ? page.nextCursor : null };
  },
  async getRun(runId: string): Promise<RunView> {
    return asRun(await call('GET', `/v1/runs/${encodeURIComponent(runId)}`));
  },
  async events(runId: string, cursor: string | undefined): Promise<EventPage> {
    const query = new URLSearchParams({ limit: '500', ...(cursor ? { cursor } : {}) });
    const page = expectRecord(await call('GET', `/v1/runs/${encodeURIComponent(runId)}/events?${query}`), ['events'], 'a page of events');
    if (!Array.isArray(page.events)) throw new ApiProblem('the server’s answer is not a page of events', 200, 'bad_response');
    const events = page.events.map((e) => expectRecord(e, ['seq', 'at', 'type', 'message'], 'an event') as unknown as RunEvent);
    return { events, nextCursor: typeof page.nextCursor === 'string' ? page.nextCursor : null };
  },
  async submit(request: { repo: string; prompt: string; budgetUsd?: number }, idempotencyKey: string): Promise<{ runId: string; status: string }> {
    const answer = expectRecord(await call('POST', '/v1/runs', request, { 'idempotency-key': idempotencyKey }), ['runId', 'status'], 'a submitted run');
    return { runId: String(answer.runId), status: String(answer.status) };
  },
  async cancel(runId: string): Promise<void> {
    await call('POST', `/v1/runs/${encodeURIComponent(runId)}/cancel`, {});
  },
  async config(): Promise<ConsoleConfig> {
    return expectRecord(await call('GET', '/_console/config'), ['mode', 'repos', 'budgets'], 'the console configuration') as unknown as ConsoleConfig;
  },
  async runDiff(runId: string): Promise<RunDiff> {
    const answer = expectRecord(await call('GET', `/_console/runs/${encodeURIComponent(runId)}/diff`), ['diff'], 'a diff');
    expectDiff(answer.diff);
    return answer as unknown as RunDiff;
  },
  async pull(repo: string, number: number): Promise<PullView> {
    const [owner, name] = repo.split('/');
    const answer = expectRecord(await call('GET', `/_console/pulls/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(name ?? '')}/${number}`), ['title', 'body', 'diff'], 'a pull request');
    expectDiff(answer.diff);
    return answer as unknown as PullView;
  },
};

function expectDiff(value: unknown): asserts value is ClassifiedDiff {
  const diff = expectRecord(value, ['files', 'riskyLines'], 'a diff');
  if (!Array.isArray(diff.files)) throw new ApiProblem('the server’s answer is not a diff', 200, 'bad_response');
}
