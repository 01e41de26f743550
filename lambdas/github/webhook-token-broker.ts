import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAppAuth } from '@octokit/auth-app';
import { request as githubRequest } from '@octokit/request';
import { join } from 'node:path';
import { repoSettings } from '../../core/config/load';
import { runtimeConfig } from '../../core/config/runtime';
import type { NightshiftConfig } from '../../core/config/schema';
import { optionalEnv } from '../../core/env';
import { issueForgeToken } from '../../local/forge/forge-tokens';
import { localSecretsFileSource, secretsManagerSource, type SecretSource } from '../token-broker';
import { STATUS_TOKEN_PERMISSIONS, WEBHOOK_TOKEN_PERMISSIONS, WebhookTokenRequest, type WebhookTokenResponse } from './webhook-token-contract';

/**
 * The webhook token broker: a function of its own, apart from the run token broker, so that neither
 * the internet-facing webhook function nor a runner holds more than it needs. The webhook function
 * (its only caller, by IAM) names an allowlisted repository and gets an installation token for that
 * repository alone with issues write, pull requests read and metadata read. It reads the App key (or
 * the PAT fallback), never the webhook secret or repo secrets, and reads no table.
 */
export class WebhookRepoNotAllowedError extends Error {
  constructor(repo: string) {
    super(`repository ${repo} is not in the configuration's repos`);
    this.name = 'RepoNotAllowedError';
  }
}

export interface WebhookTokenBrokerDeps {
  config: NightshiftConfig;
  secrets: SecretSource;
  /** Local mode: tokens the local forge under this directory accepts. */
  forgeRoot?: string;
  now?: () => Date;
}

export async function mintWebhookToken(deps: WebhookTokenBrokerDeps, input: unknown): Promise<WebhookTokenResponse> {
  const request = WebhookTokenRequest.parse(input);
  const settings = repoSettings(deps.config, request.repo);
  if (!settings) throw new WebhookRepoNotAllowedError(request.repo);
  const github = deps.config.github;
  if (deps.forgeRoot) {
    const { token, expiresAt } = issueForgeToken(deps.forgeRoot, settings.name, null, 900, deps.now?.());
    return { token, expiresAt, mode: 'forge', repository: settings.name };
  }
  if (github.appId !== undefined && github.installationId !== undefined && github.privateKeySecret !== undefined) {
    const auth = createAppAuth({
      appId: github.appId,
      privateKey: await deps.secrets(github.privateKeySecret),
      request: githubRequest.defaults({ baseUrl: github.apiUrl.replace(/\/$/, ''), headers: { 'user-agent': 'nightshift-webhook-token-broker' } }),
    });
    const installation = await auth({ type: 'installation', installationId: github.installationId, repositoryNames: [settings.name.split('/')[1]!], permissions: { ...(request.checks ? STATUS_TOKEN_PERMISSIONS : WEBHOOK_TOKEN_PERMISSIONS) } });
    return { token: installation.token, expiresAt: installation.expiresAt, mode: 'app', repository: settings.name };
  }
  if (github.tokenSecret !== undefined) {
    // The PAT fallback is not narrowed per request: its scope is what it was created with (docs/github-app.md).
    const token = (await deps.secrets(github.tokenSecret)).trim();
    return { token, expiresAt: new Date((deps.now?.() ?? new Date()).getTime() + 900_000).toISOString(), mode: 'pat', repository: settings.name };
  }
  throw new Error('no GitHub App or token secret configured');
}

let deps: WebhookTokenBrokerDeps | undefined;

function defaultDeps(): WebhookTokenBrokerDeps {
  const secretsFile = optionalEnv('NIGHTSHIFT_SECRETS_FILE');
  const forgeHome = optionalEnv('NIGHTSHIFT_GITHUB_MODE') === 'forge' ? join(optionalEnv('NIGHTSHIFT_HOME') ?? '.nightshift', 'forge') : undefined;
  return {
    config: runtimeConfig(),
    secrets: secretsFile ? localSecretsFileSource(secretsFile) : secretsManagerSource(new SecretsManagerClient({})),
    ...(forgeHome ? { forgeRoot: forgeHome } : {}),
  };
}

/** Lambda entry: `{ kind: "webhookToken", repo }` in, `WebhookTokenResponse` out; refusals throw. */
export async function handler(event: unknown): Promise<WebhookTokenResponse> {
  deps ??= defaultDeps();
  const response = await mintWebhookToken(deps, event);
  // Logged without the token.
  console.log(JSON.stringify({ level: 'info', message: 'webhook token issued', mode: response.mode, repository: response.repository, expiresAt: response.expiresAt }));
  return response;
}
