import { ANTHROPIC_VERSION, fromMessagesResponse, toMessagesRequest } from './anthropic-wire';
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
import type { ModelProvider, ModelRequest } from './provider';
import { converseRequestViolations, messagesRequestViolations } from './request-rules';

export interface AnthropicProviderOptions {
  /** e.g. https://api.anthropic.com (the provider appends /v1/messages). */
  baseUrl: string;
  model: string;
  /** Asked for once, at the first call (the token broker on AWS); undefined sends no key (a gateway that adds it). */
  apiKey: () => Promise<string | undefined>;
  fetch?: Fetch;
  retry?: RetryPolicy;
  sleep?: Sleep;
  timeoutMs?: number;
}

/**
 * Anthropic's Messages API, non-streaming, with fetch (no SDK: one POST and its JSON). Prompt caching
 * follows the Converse cache points (`cache_control` on the block before each). Throttling, 5xx,
 * 529 overloaded and cut connections are retried like Bedrock's.
 */
export class AnthropicProvider implements ModelProvider {
  readonly kind = 'anthropic' as const;
  readonly description: string;
  private key: Promise<string | undefined> | undefined;

  constructor(private readonly options: AnthropicProviderOptions) {
    this.description = `Anthropic API (${options.model})`;
  }

  async converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    const converseViolations = converseRequestViolations(request);
    if (converseViolations.length > 0) throw new InvalidModelRequestError('Converse', converseViolations);
    const body = toMessagesRequest(request, this.options.model);
    const violations = messagesRequestViolations(body);
    if (violations.length > 0) throw new InvalidModelRequestError('Anthropic Messages', violations);
    this.key ??= this.options.apiKey();
    const key = await this.key;
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/v1/messages`;
    const raw = await withRetries(
      () =>
        postJson({
          provider: 'Anthropic API',
          url,
          headers: { 'anthropic-version': ANTHROPIC_VERSION, ...(key ? { 'x-api-key': key } : {}) },
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
    return fromMessagesResponse(raw);
  }
}
