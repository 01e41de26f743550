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
import { fromChatResponse, toChatRequest, type MaxTokensParameter } from './openai-wire';
import type { ModelProvider, ModelRequest } from './provider';
import { chatRequestViolations, converseRequestViolations } from './request-rules';

export interface OpenAiProviderOptions {
  /** The API root the server documents, e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), http://vllm:8000/v1. */
  baseUrl: string;
  model: string;
  /** Sent as `Authorization: Bearer`; undefined sends none (Ollama, a vLLM without --api-key). */
  apiKey: () => Promise<string | undefined>;
  maxTokensParameter?: MaxTokensParameter;
  fetch?: Fetch;
  retry?: RetryPolicy;
  sleep?: Sleep;
  timeoutMs?: number;
}

/** OpenAI-compatible chat completions, non-streaming, with fetch (no SDK). */
export class OpenAiProvider implements ModelProvider {
  readonly kind = 'openai' as const;
  readonly description: string;
  private key: Promise<string | undefined> | undefined;

  constructor(private readonly options: OpenAiProviderOptions) {
    this.description = `OpenAI-compatible API (${options.model} at ${new URL(options.baseUrl).host})`;
  }

  async converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    const converseViolations = converseRequestViolations(request);
    if (converseViolations.length > 0) throw new InvalidModelRequestError('Converse', converseViolations);
    const body = toChatRequest(request, this.options.model, this.options.maxTokensParameter);
    const violations = chatRequestViolations(body);
    if (violations.length > 0) throw new InvalidModelRequestError('chat completions', violations);
    this.key ??= this.options.apiKey();
    const key = await this.key;
    const provider = 'OpenAI-compatible API';
    const raw = await withRetries(
      () =>
        postJson({
          provider,
          url: `${this.options.baseUrl.replace(/\/+$/, '')}/chat/completions`,
          headers: key ? { authorization: `Bearer ${key}` } : {},
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
    return fromChatResponse(raw, provider);
  }
}
