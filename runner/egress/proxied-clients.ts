import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici';

/**
 * The runner's own network routes on AWS. The runner security group reaches only the egress proxy,
 * the interface endpoints (ECR, CloudWatch Logs) and the S3/DynamoDB gateway endpoints, so every
 * client that leaves the VPC must go through the proxy explicitly (a direct call would hang until it
 * times out): Bedrock runtime, Step Functions, Lambda (the token broker, which also hands out repo
 * secrets, and the runner's run data: the runner has no DynamoDB or S3 access of its own), and GitHub
 * (Octokit, git). The trace's presigned S3 PUT (plain fetch) and the log driver stay direct.
 *
 * The AWS clients get the proxy URL with the runner credential (core/egress/runner-credential.ts):
 * the proxy opens the AWS API hosts to nothing else.
 *
 * Only HTTPS is proxied: every AWS API and GitHub is HTTPS, while plain-HTTP endpoints are local
 * mode's loopback stand-ins (AWS_ENDPOINT_URL_<SERVICE>), which the proxy would refuse.
 */
export function proxiedRequestHandler(proxyUrl: string): NodeHttpHandler {
  return new NodeHttpHandler({ httpsAgent: new HttpsProxyAgent(proxyUrl, { keepAlive: true }) });
}

export interface RunnerAwsClients {
  /** Through the proxy when one is set. */
  readonly sfn: SFNClient;
  readonly lambda: LambdaClient;
  bedrock(): BedrockRuntimeClient;
}

export function runnerAwsClients(options: { region?: string; proxyUrl?: string }): RunnerAwsClients {
  const base = options.region ? { region: options.region } : {};
  const proxied = options.proxyUrl ? { ...base, requestHandler: proxiedRequestHandler(options.proxyUrl) } : base;
  let bedrock: BedrockRuntimeClient | undefined;
  return {
    sfn: new SFNClient(proxied),
    lambda: new LambdaClient(proxied),
    // The SDK's own retries are off: the Bedrock provider's loop is the one retry policy.
    bedrock: () => (bedrock ??= new BedrockRuntimeClient({ ...proxied, maxAttempts: 1 })),
  };
}

/** Hosts Octokit reaches without the proxy: a local forge or GitHub stand-in on loopback. */
const GITHUB_NO_PROXY = 'localhost,127.0.0.1,::1';

/**
 * A fetch for Octokit that sends HTTPS through the egress proxy (undici's proxy agent; Node's
 * global fetch ignores HTTPS_PROXY before Node 24's NODE_USE_ENV_PROXY, and the runner does not rely on it).
 */
export function proxiedFetch(proxyUrl: string): typeof fetch {
  const dispatcher = new EnvHttpProxyAgent({ httpProxy: proxyUrl, httpsProxy: proxyUrl, noProxy: GITHUB_NO_PROXY });
  return ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) => undiciFetch(input, { ...init, dispatcher })) as unknown as typeof fetch;
}
