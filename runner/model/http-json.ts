import {
  CONTEXT_WINDOW_TEXT,
  isConnectError,
  isNetworkError,
  ModelCallError,
  ModelResponseError,
  retryAfterMs,
  type ModelCallFailure,
} from './model-errors';

/**
 * One JSON POST to a model API with `fetch` (global, or the runner's proxied undici fetch), and the
 * mapping of what can go wrong to a ModelCallError: HTTP status and the provider's error body, a
 * connection refused or cut (also after the response began), a request that took too long.
 */
export type Fetch = typeof fetch;

export interface JsonPost {
  /** Names the provider in errors. */
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal;
  fetch: Fetch;
  /** One attempt's time limit. */
  timeoutMs: number;
}

const MAX_ERROR_TEXT = 500;

/** One attempt's limit: ten minutes, well above a non-streaming call of the largest output the config allows. */
export const DEFAULT_MODEL_TIMEOUT_MS = 600_000;

/** The message and type of an error body in the shapes providers use (Anthropic, OpenAI, vLLM, Ollama, LiteLLM, FastAPI). */
export function errorBodyText(text: string): { message: string; type?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, MAX_ERROR_TEXT) || 'no error message' };
  }
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const nested = typeof o.error === 'object' && o.error !== null ? (o.error as Record<string, unknown>) : undefined;
  const message =
    [nested?.message, o.error, o.message, o.detail].find((m): m is string => typeof m === 'string' && m !== '') ?? JSON.stringify(json);
  const type = [nested?.type, nested?.code, o.type, o.code].find((t): t is string => typeof t === 'string' && t !== '');
  return { message: message.slice(0, MAX_ERROR_TEXT), ...(type ? { type } : {}) };
}

export function failureOfStatus(status: number, message: string, type: string | undefined): ModelCallFailure {
  if (status === 429) return 'throttled';
  if (status === 408 || status === 409 || status >= 500) return 'unavailable';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (CONTEXT_WINDOW_TEXT.test(message) || (type !== undefined && CONTEXT_WINDOW_TEXT.test(type))) return 'context_window';
  return 'rejected';
}

/**
 * A 4xx is answered before the model runs. A 5xx may come after it ran, except Anthropic's 529
 * (overloaded: refused before processing) and 409 (a conflict, refused as such).
 */
export function possiblyBilledStatus(status: number): boolean {
  return status >= 500 && status !== 529 ? true : status === 408;
}

function describeNetworkError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    parts.push([typeof code === 'string' ? code : '', typeof message === 'string' ? message : ''].filter(Boolean).join(' '));
  }
  return parts.filter(Boolean).join(': ').slice(0, MAX_ERROR_TEXT);
}

export async function postJson(post: JsonPost): Promise<unknown> {
  const timeout = AbortSignal.timeout(post.timeoutMs);
  const signal = AbortSignal.any([post.signal, timeout]);
  const where = new URL(post.url).host;
  let response: Response;
  let text: string;
  try {
    response = await post.fetch(post.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...post.headers },
      body: JSON.stringify(post.body),
      signal,
    });
    // Reading the body can fail on its own: the connection may be cut after the status line.
    text = await response.text();
  } catch (err) {
    if (post.signal.aborted) throw err;
    if (timeout.aborted)
      throw new ModelCallError(
        post.provider,
        'network',
        `no complete answer from ${where} within ${Math.round(post.timeoutMs / 1000)} s`,
        true,
      );
    // Only a connection that never opened is certainly unbilled; once the request was sent the model may have run.
    if (isNetworkError(err) || err instanceof TypeError)
      throw new ModelCallError(
        post.provider,
        'network',
        `connection to ${where} failed: ${describeNetworkError(err)}`,
        !isConnectError(err),
      );
    throw err;
  }
  if (!response.ok) {
    const { message, type } = errorBodyText(text);
    const failure = failureOfStatus(response.status, message, type);
    throw new ModelCallError(
      post.provider,
      failure,
      `${response.status}${type ? ` ${type}` : ''} from ${where}: ${message}`,
      possiblyBilledStatus(response.status),
      response.status,
      retryAfterMs(response.headers.get('retry-after')),
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ModelResponseError(`the body from ${where} is not JSON (${text.slice(0, 100)})`, post.provider);
  }
}
