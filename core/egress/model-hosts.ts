import { defaultModelBaseUrls, type ModelConfig } from '../config/schema';

/**
 * The host of the configured model API that the runner reaches through the egress proxy (anthropic
 * and openai; Bedrock's host is among `awsProxiedHosts`). Loopback hosts are reached directly (local
 * mode's Ollama or vLLM) and raw IP addresses are refused by the proxy, so neither is listed.
 */
export function modelProviderHosts(model: Pick<ModelConfig, 'provider' | 'baseUrl'> | undefined): string[] {
  if (!model || model.provider === 'bedrock') return [];
  const host = new URL(model.baseUrl ?? defaultModelBaseUrls[model.provider]).hostname.toLowerCase();
  if (host === 'localhost' || host.startsWith('[') || /^[0-9.]+$/.test(host) || !host.includes('.')) return [];
  return [host];
}
