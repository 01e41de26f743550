import { ModelApiKeyResponse } from '../../lambdas/token-broker-contract';
import type { BrokerCaller } from '../token-broker-client';

/**
 * The model provider's API key, from the token broker (`{kind: "modelApiKey", runId, runKey}`): the runner's
 * role cannot read Secrets Manager, and the broker answers only while the run is RUNNING. Local mode's
 * broker reads the platform's ANTHROPIC_API_KEY / OPENAI_API_KEY or secrets.json. `onKey` registers
 * the value with the run's redactor before anything else sees it.
 */
export function tokenBrokerModelApiKey(broker: BrokerCaller, runId: string, onKey: (key: string) => void): () => Promise<string> {
  return async () => {
    const parsed = ModelApiKeyResponse.safeParse(await broker.call({ kind: 'modelApiKey', runId }));
    // Never the payload in the message: it holds the key.
    if (!parsed.success) throw new Error('malformed model API key response from the token broker');
    onKey(parsed.data.apiKey);
    return parsed.data.apiKey;
  };
}
