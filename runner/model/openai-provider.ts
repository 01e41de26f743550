import type { ConverseResponse } from './converse-response';
import { ModelHttpApi, type HttpProviderOptions } from './model-http-api';
import { fromChatResponse, toChatRequest, type ChatRequest, type MaxTokensParameter } from './openai-wire';
import type { ModelProvider, ModelRequest } from './provider';
import { chatRequestViolations } from './request-rules';

export interface OpenAiProviderOptions extends HttpProviderOptions {
  /** The API root the server documents, e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), http://vllm:8000/v1. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer`; undefined sends none (Ollama, a vLLM without --api-key). */
  apiKey: () => Promise<string | undefined>;
  maxTokensParameter?: MaxTokensParameter;
}

/** OpenAI-compatible chat completions, non-streaming, with fetch (no SDK). */
export class OpenAiProvider implements ModelProvider {
  readonly kind = 'openai' as const;
  readonly description: string;
  private readonly api: ModelHttpApi<ChatRequest>;

  constructor(options: OpenAiProviderOptions) {
    this.description = `OpenAI-compatible API (${options.model} at ${new URL(options.baseUrl).host})`;
    const provider = 'OpenAI-compatible API';
    this.api = new ModelHttpApi(provider, options, {
      api: 'chat completions',
      path: '/chat/completions',
      toRequest: (request) => toChatRequest(request, options.model, options.maxTokensParameter),
      violations: chatRequestViolations,
      headers: (key): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {}),
      fromResponse: (raw) => fromChatResponse(raw, provider),
    });
  }

  converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    return this.api.converse(request, signal);
  }
}
