import { ApiClient } from './api-client';

export interface ApiTargetOptions {
  api?: string;
}

const cliVersion = '0.1.0';

function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/**
 * Which API the CLI talks to: `--api`, else NIGHTSHIFT_API, else local mode on PORT (default 8787).
 * A deployed stack is called with SigV4 (IAM auth) or, when NIGHTSHIFT_TOKEN is set, a bearer token (JWT auth).
 */
export async function apiClientFor(options: ApiTargetOptions, env: NodeJS.ProcessEnv = process.env): Promise<ApiClient> {
  const explicit = options.api ?? env.NIGHTSHIFT_API;
  const baseUrl = explicit ?? `http://127.0.0.1:${env.PORT ?? '8787'}`;
  const userAgent = `nightshift-cli/${cliVersion}`;
  const probe = new ApiClient({ baseUrl, userAgent });
  if (!explicit || isLoopback(probe.baseUrl)) return probe;
  const token = env.NIGHTSHIFT_TOKEN;
  if (token) return new ApiClient({ baseUrl, userAgent, bearerToken: token });
  // The SigV4 signer (Smithy and the AWS credential chain) loads only for a deployed stack's API, so
  // a local command does not pay for it at start.
  const { sigV4Signer } = require('./sigv4') as typeof import('./sigv4');
  return new ApiClient({ baseUrl, userAgent, signer: await sigV4Signer({ apiUrl: probe.baseUrl }) });
}
