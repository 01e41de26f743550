import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { EnvHttpProxyAgent } from 'undici';

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
 *
 * Only the Lambda client (the broker, which the runner calls first) is loaded at start: the Step
 * Functions and Bedrock SDK packages and undici load on first use, so a runner's start parses and
 * runs less (docs/runner.md#start-up).
 */
export function proxiedRequestHandler(proxyUrl: string): NodeHttpHandler {
  return new NodeHttpHandler({ httpsAgent: new HttpsProxyAgent(proxyUrl, { keepAlive: true }) });
}

export interface RunnerAwsClients {
  /** Through the proxy when one is set; made (and its SDK package loaded) on first use, then the same one. */
  sfn(): Promise<SFNClient>;
  readonly lambda: LambdaClient;
  bedrock(): Promise<BedrockRuntimeClient>;
}

export function runnerAwsClients(options: { region?: string; proxyUrl?: string }): RunnerAwsClients {
  const base = options.region ? { region: options.region } : {};
  const proxied = options.proxyUrl ? { ...base, requestHandler: proxiedRequestHandler(options.proxyUrl) } : base;
  let sfn: Promise<SFNClient> | undefined;
  let bedrock: Promise<BedrockRuntimeClient> | undefined;
  return {
    sfn: () => (sfn ??= import('@aws-sdk/client-sfn').then(({ SFNClient }) => new SFNClient(proxied))),
    lambda: new LambdaClient(proxied),
    // The SDK's own retries are off: the Bedrock provider's loop is the one retry policy.
    bedrock: () =>
      (bedrock ??= import('@aws-sdk/client-bedrock-runtime').then(
        ({ BedrockRuntimeClient }) => new BedrockRuntimeClient({ ...proxied, maxAttempts: 1 }),
      )),
  };
}

/** Hosts Octokit reaches without the proxy: a local forge or GitHub stand-in on loopback. */
const GITHUB_NO_PROXY = 'localhost,127.0.0.1,::1';

/**
 * A fetch for Octokit that sends HTTPS through the egress proxy (undici's proxy agent; Node's
 * global fetch ignores HTTPS_PROXY before Node 24's NODE_USE_ENV_PROXY, and the runner does not rely on it).
 */
export function proxiedFetch(proxyUrl: string): typeof fetch {
  // undici is loaded at the first request (it is the largest package of the runner bundle).
  let loaded: Promise<{ undici: typeof import('undici'); dispatcher: EnvHttpProxyAgent }> | undefined;
  const load = () =>
    (loaded ??= import('undici').then((undici) => ({
      undici,
      dispatcher: new undici.EnvHttpProxyAgent({ httpProxy: proxyUrl, httpsProxy: proxyUrl, noProxy: GITHUB_NO_PROXY }),
    })));
  type UndiciFetch = typeof import('undici').fetch;
  return (async (input: Parameters<UndiciFetch>[0], init?: Parameters<UndiciFetch>[1]) => {
    const { undici, dispatcher } = await load();
    return undici.fetch(input, { ...init, dispatcher });
  }) as unknown as typeof fetch;
}
