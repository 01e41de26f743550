import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** Signs an API request; returns the headers to send. */
export interface RequestSigner {
  sign(request: { method: string; url: URL; headers: Record<string, string>; body?: string }): Promise<Record<string, string>>;
}

/** `abc123.execute-api.eu-west-1.amazonaws.com` → `eu-west-1`. */
export function regionOfApiUrl(url: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}

/**
 * SigV4 for API Gateway's IAM authorization (service `execute-api`), with credentials from the default
 * chain (environment, SSO, shared config, container and instance roles).
 */
export async function sigV4Signer(options: {
  apiUrl: URL;
  region?: string;
  credentials?: AwsCredentialIdentityProvider;
}): Promise<RequestSigner> {
  const region = options.region ?? regionOfApiUrl(options.apiUrl) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error(`cannot tell the AWS region of ${options.apiUrl.host}; set AWS_REGION`);
  // Loaded on demand: the credential chain is a large module graph that local-mode commands never need.
  const credentials = options.credentials ?? (await import('@aws-sdk/credential-providers')).fromNodeProviderChain();
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
  return {
    async sign({ method, url, headers, body }) {
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const request = new HttpRequest({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query,
        headers: { ...headers, host: url.host },
        ...(body !== undefined ? { body } : {}),
      });
      const signed = await signer.sign(request);
      const out: Record<string, string> = {};
      // fetch sets Host itself and refuses to be told.
      for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') out[k] = v;
      return out;
    },
  };
}
