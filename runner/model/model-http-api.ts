import type { ConverseResponse } from './converse-response';
import { DEFAULT_MODEL_TIMEOUT_MS, postJson, type Fetch } from './http-json';
import {
  abortableSleep,
  defaultRetryPolicy,
  InvalidModelRequestError,
  isRetryableUnbilled,
  withRetries,
  type RetryPolicy,
  type Sleep,
} from './model-errors';
import type { ModelRequest } from './provider';
import { converseRequestViolations } from './request-rules';

/** What a provider of a model API over HTTP (Anthropic's, an OpenAI-compatible one) is given. */
export interface HttpProviderOptions {
  baseUrl: string;
  model: string;
  /** Asked for once, at the first call; undefined sends no key. */
  apiKey: () => Promise<string | undefined>;
  fetch?: Fetch;
  retry?: RetryPolicy;
  sleep?: Sleep;
  timeoutMs?: number;
}

/** How one API's requests and answers are written: what differs between the HTTP providers. */
export interface HttpWire<Body> {
  /** Names the API in an InvalidModelRequestError. */
  api: string;
  /** Appended to the base URL. */
  path: string;
  toRequest: (request: ModelRequest) => Body;
  violations: (body: Body) => string[];
  headers: (key: string | undefined) => Record<string, string>;
  fromResponse: (raw: unknown) => ConverseResponse;
}

/**
 * A model API over HTTP, non-streaming, with fetch (no SDK): a request that breaks the Converse rules
 * or the API's own is refused before it is sent, the key is asked for at the first call, and each call
 * is one JSON POST, retried while its failure cannot have been billed.
 */
export class ModelHttpApi<Body> {
  private key: Promise<string | undefined> | undefined;

  /** `provider` names the provider in errors. */
  constructor(
    readonly provider: string,
    private readonly options: HttpProviderOptions,
    private readonly wire: HttpWire<Body>,
  ) {}

  async converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    const converseViolations = converseRequestViolations(request);
    if (converseViolations.length > 0) throw new InvalidModelRequestError('Converse', converseViolations);
    const body = this.wire.toRequest(request);
    const violations = this.wire.violations(body);
    if (violations.length > 0) throw new InvalidModelRequestError(this.wire.api, violations);
    this.key ??= this.options.apiKey();
    const key = await this.key;
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}${this.wire.path}`;
    const headers = this.wire.headers(key);
    const raw = await withRetries(
      () =>
        postJson({
          provider: this.provider,
          url,
          headers,
          body,
          signal,
          fetch: this.options.fetch ?? fetch,
          timeoutMs: this.options.timeoutMs ?? DEFAULT_MODEL_TIMEOUT_MS,
        }),
      {
        isRetryable: isRetryableUnbilled,
        policy: this.options.retry ?? defaultRetryPolicy,
        sleep: this.options.sleep ?? abortableSleep,
        signal,
      },
    );
    return this.wire.fromResponse(raw);
  }
}
