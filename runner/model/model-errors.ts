/**
 * A provider refused the request before the model ran (validation, authorization, throttling): the
 * call was not billed. Providers throw it (or an AWS SDK error named below) only when that is certain.
 */
export class ModelRequestRejectedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ModelRequestRejectedError';
  }
}

/** Bedrock's errors that are answered before inference starts (4xx: the request never reached the model). */
const unbilledAwsErrorNames = new Set([
  'ValidationException',
  'AccessDeniedException',
  'ResourceNotFoundException',
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'ModelNotReadyException',
  'UnrecognizedClientException',
  'ExpiredTokenException',
]);

/**
 * True only for failures known to happen before billing. Everything else (a 5xx, a model error, a
 * timeout, a response that arrived and failed to parse, a connection reset after generation) may have
 * been billed, so its reservation is settled at the worst case: invariant 1 holds on error paths too.
 */
export function isUnbilledModelError(err: unknown): boolean {
  // ReplayExhaustedError and ReplayDivergedError are ModelRequestRejectedErrors; a request refused by the rules was never sent.
  if (err instanceof ModelRequestRejectedError || err instanceof InvalidModelRequestError || err instanceof UnsupportedRequestError)
    return true;
  if (err instanceof ModelCallError) return !err.possiblyBilled;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (typeof e.name !== 'string' || !unbilledAwsErrorNames.has(e.name)) return false;
  const status = e.$metadata?.httpStatusCode;
  // A named error with a status outside 4xx is not what the name promises: treat it as billed.
  return status === undefined || (typeof status === 'number' && status >= 400 && status < 500);
}

/**
 * How an HTTP model call (anthropic, openai) fails, the same for every provider, so the retry loops and
 * the run's error say one thing whichever API is behind it. Messages name the provider and what it
 * said (never a key: the keys travel in headers only, and the run redacts every message it writes down).
 */
export type ModelCallFailure =
  /** The provider refused the request as invalid (4xx other than the ones below): retrying cannot help. */
  | 'rejected'
  /** The key is missing, wrong or lacks permission (401, 403). */
  | 'unauthorized'
  /** The model id or endpoint does not exist (404). */
  | 'not_found'
  /** The input does not fit the model's context window. */
  | 'context_window'
  /** Rate limited (429): retried. */
  | 'throttled'
  /** The provider failed or is overloaded (5xx, 529, 408, 409): retried. */
  | 'unavailable'
  /** The connection failed or was cut, before or after the response started: retried. */
  | 'network';

/** How providers word a request that does not fit the model's context window. */
export const CONTEXT_WINDOW_TEXT =
  /prompt is too long|context[ _]length|context window|maximum context|too many (input )?tokens|input is too long/i;

const retryable: ReadonlySet<ModelCallFailure> = new Set(['throttled', 'unavailable', 'network']);

export class ModelCallError extends Error {
  constructor(
    readonly provider: string,
    readonly failure: ModelCallFailure,
    message: string,
    /**
     * Whether the provider may have run the model (and billed it): a 5xx, a connection cut once the
     * request was sent, no answer in time. The run then settles the call at its worst case and retries
     * under a new reservation (runner/session/model-call.ts); unbilled failures are retried here.
     */
    readonly possiblyBilled: boolean,
    readonly status?: number,
    /** From a Retry-After header. */
    readonly retryAfterMs?: number,
  ) {
    super(`${provider}: ${message}`);
    this.name = 'ModelCallError';
  }

  get retryable(): boolean {
    return retryable.has(this.failure);
  }
}

/** The provider's retry loop takes only failures that cannot have been billed; the rest go to the run's. */
export function isRetryableUnbilled(err: unknown): boolean {
  return err instanceof ModelCallError && err.retryable && !err.possiblyBilled;
}

export class ModelResponseError extends Error {
  constructor(reason: string, provider = 'Bedrock') {
    super(`${provider} returned a response the runner cannot use: ${reason}`);
    this.name = 'ModelResponseError';
  }
}

/** The runner built a request this provider cannot express (a Converse block it has no equivalent for). */
export class UnsupportedRequestError extends Error {
  constructor(reason: string) {
    super(`the request cannot be translated: ${reason}`);
    this.name = 'UnsupportedRequestError';
  }
}

/** A request that breaks the provider's documented rules: a runner bug, refused before anything is sent. */
export class InvalidModelRequestError extends Error {
  constructor(
    readonly api: string,
    readonly violations: readonly string[],
  ) {
    super(
      `the runner built a ${api} request the provider would refuse: ${violations.slice(0, 5).join('; ')}${violations.length > 5 ? ` (and ${violations.length - 5} more)` : ''}`,
    );
    this.name = 'InvalidModelRequestError';
  }
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/** The longest Retry-After the runner waits for; a longer one waits this long and tries again. */
const MAX_RETRY_AFTER_MS = 60_000;

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Calls `attempt` until it succeeds, fails with an error `isRetryable` refuses, runs out of attempts
 * or the signal aborts. Waits are capped, jittered exponential backoff, or the provider's Retry-After.
 */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  options: { isRetryable: (err: unknown) => boolean; policy: RetryPolicy; sleep: Sleep; signal: AbortSignal },
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (options.signal.aborted || n >= options.policy.attempts || !options.isRetryable(err)) throw err;
      const cap = Math.min(options.policy.maxDelayMs, options.policy.baseDelayMs * 2 ** (n - 1));
      const retryAfter = err instanceof ModelCallError ? err.retryAfterMs : undefined;
      const delay = retryAfter !== undefined ? Math.min(retryAfter, MAX_RETRY_AFTER_MS) : cap / 2 + Math.random() * (cap / 2);
      await options.sleep(delay, options.signal);
    }
  }
}

/** Failures to connect at all: the request never reached the provider. */
const connectCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export function isConnectError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && connectCodes.has(code)) return true;
  }
  return false;
}

/** Node and undici name a cut or refused connection by code; `fetch` wraps it as the cause of a TypeError. */
const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.has(code)) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /^(terminated|socket hang up|other side closed|fetch failed)$/i.test(message)) return true;
  }
  return false;
}

/** Retry-After as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The request did not fit the model's context window and was refused for it (an HTTP provider's
 * `context_window` failure, Bedrock's ValidationException "Input is too long"): the agent loop
 * compacts the conversation and asks again, like a `model_context_window_exceeded` stop.
 */
export function isContextWindowError(err: unknown): boolean {
  if (err instanceof ModelCallError) return err.failure === 'context_window';
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; message?: unknown };
  return e.name === 'ValidationException' && typeof e.message === 'string' && CONTEXT_WINDOW_TEXT.test(e.message);
}
