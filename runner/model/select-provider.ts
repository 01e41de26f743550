import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { defaultModelBaseUrls, ModelProviderName, type ModelConfig } from '../../core/config/schema';
import { AnthropicProvider } from './anthropic-provider';
import { BedrockProvider } from './bedrock-provider';
import type { Fetch } from './http-json';
import { OpenAiProvider } from './openai-provider';
import type { ModelProvider } from './provider';
import { ReplayProvider } from './replay-provider';

export interface ProviderChoice {
  /** `NIGHTSHIFT_MODEL`: unset (config `model.provider`), `bedrock`, `anthropic`, `openai` or `replay:<file>`. */
  spec: string | undefined;
  model: Pick<ModelConfig, 'provider' | 'id' | 'baseUrl' | 'apiKeySecret' | 'maxTokensParameter' | 'requestTimeoutSeconds'>;
  bedrock: () => Promise<BedrockRuntimeClient>;
  /** The key of `model.apiKeySecret` (the token broker), asked for at the first call. */
  apiKey: () => Promise<string>;
  /** The runner's fetch: through the egress proxy on AWS. */
  fetch?: Fetch;
}

export class ModelChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelChoiceError';
  }
}

/** NIGHTSHIFT_MODEL's accepted values, for the environment check. */
export const modelSpecPattern = /^(bedrock|anthropic|openai|replay:.+)$/;

/**
 * The provider a run uses. A provider named in `NIGHTSHIFT_MODEL` must be the configured one: its id,
 * base URL and key come from the config, which describes one provider.
 */
export function selectModelProvider(choice: ProviderChoice): ModelProvider {
  const value = choice.spec ?? choice.model.provider;
  if (value.startsWith('replay:') && value.length > 'replay:'.length) return new ReplayProvider(value.slice('replay:'.length));
  const named = ModelProviderName.safeParse(value);
  if (!named.success)
    throw new ModelChoiceError(`NIGHTSHIFT_MODEL must be "bedrock", "anthropic", "openai" or "replay:<file>", got "${value}"`);
  const model = choice.model;
  if (named.data !== model.provider) {
    throw new ModelChoiceError(
      `NIGHTSHIFT_MODEL=${named.data} but the config's model.provider is ${model.provider}: set model.provider (and its id, baseUrl, apiKeySecret) in the config`,
    );
  }
  const timeoutMs = model.requestTimeoutSeconds !== undefined ? model.requestTimeoutSeconds * 1_000 : undefined;
  const apiKey = model.apiKeySecret !== undefined ? choice.apiKey : async () => undefined;
  const common = { model: model.id, apiKey, ...(choice.fetch ? { fetch: choice.fetch } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
  switch (named.data) {
    case 'bedrock':
      return new BedrockProvider(choice.bedrock, model.id);
    case 'anthropic':
      return new AnthropicProvider({ ...common, baseUrl: model.baseUrl ?? defaultModelBaseUrls.anthropic });
    case 'openai':
      return new OpenAiProvider({
        ...common,
        baseUrl: model.baseUrl ?? defaultModelBaseUrls.openai,
        ...(model.maxTokensParameter ? { maxTokensParameter: model.maxTokensParameter } : {}),
      });
  }
}
