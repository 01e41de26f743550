import { ANTHROPIC_VERSION, fromMessagesResponse, toMessagesRequest, type MessagesRequest } from './anthropic-wire';
import type { ConverseResponse } from './converse-response';
import { ModelHttpApi, type HttpProviderOptions } from './model-http-api';
import type { ModelProvider, ModelRequest } from './provider';
import { messagesRequestViolations } from './request-rules';

export interface AnthropicProviderOptions extends HttpProviderOptions {
  /** e.g. https://api.anthropic.com (the provider appends /v1/messages). */
  baseUrl: string;
  /** Asked for once, at the first call (the token broker on AWS); undefined sends no key (a gateway that adds it). */
  apiKey: () => Promise<string | undefined>;
}

/**
 * Anthropic's Messages API, non-streaming, with fetch (no SDK: one POST and its JSON). Prompt caching
 * follows the Converse cache points (`cache_control` on the block before each). Throttling, 5xx,
 * 529 overloaded and cut connections are retried like Bedrock's.
 */
export class AnthropicProvider implements ModelProvider {
  readonly kind = 'anthropic' as const;
  readonly description: string;
  private readonly api: ModelHttpApi<MessagesRequest>;

  constructor(options: AnthropicProviderOptions) {
    this.description = `Anthropic API (${options.model})`;
    this.api = new ModelHttpApi('Anthropic API', options, {
      api: 'Anthropic Messages',
      path: '/v1/messages',
      toRequest: (request) => toMessagesRequest(request, options.model),
      violations: messagesRequestViolations,
      headers: (key) => ({ 'anthropic-version': ANTHROPIC_VERSION, ...(key ? { 'x-api-key': key } : {}) }),
      fromResponse: fromMessagesResponse,
    });
  }

  converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    return this.api.converse(request, signal);
  }
}
