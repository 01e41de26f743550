import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { BedrockProvider } from './bedrock-provider';
import type { ModelProvider } from './provider';
import { ReplayProvider } from './replay-provider';

/** `NIGHTSHIFT_MODEL`: `bedrock` (default) or `replay:<file>`. */
export function selectModelProvider(spec: string | undefined, modelId: string, bedrock: () => BedrockRuntimeClient): ModelProvider {
  const value = spec ?? 'bedrock';
  if (value === 'bedrock') return new BedrockProvider(bedrock(), modelId);
  if (value.startsWith('replay:') && value.length > 'replay:'.length) return new ReplayProvider(value.slice('replay:'.length));
  throw new Error(`NIGHTSHIFT_MODEL must be "bedrock" or "replay:<file>", got "${value}"`);
}
