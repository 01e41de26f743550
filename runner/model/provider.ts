import type { ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import type { ConverseResponse } from './converse-response';

export type ModelRequest = ConverseCommandInput;

/** A source of model responses: Bedrock, or a recorded session. */
export interface ModelProvider {
  readonly kind: 'bedrock' | 'replay';
  /** Shown in events and the PR body. */
  readonly description: string;
  converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse>;
}
