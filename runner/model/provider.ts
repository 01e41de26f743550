import type { ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import type { ConverseResponse } from './converse-response';

/** The runner's requests are Converse-shaped whatever the provider: the others translate them (anthropic-wire.ts, openai-wire.ts). */
export type ModelRequest = ConverseCommandInput;

export type ModelProviderKind = 'bedrock' | 'anthropic' | 'openai' | 'replay';

/** A source of model responses: Bedrock, the Anthropic API, an OpenAI-compatible server, or a recorded session. */
export interface ModelProvider {
  readonly kind: ModelProviderKind;
  /** Shown in events and the PR body. */
  readonly description: string;
  converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse>;
}
