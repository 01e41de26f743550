import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAppAuth } from '@octokit/auth-app';
import { request as githubRequest } from '@octokit/request';
import { join } from 'node:path';
import { repoSettings } from '../../core/config/load';
import { RepoNotAllowedError } from '../../core/errors';
import { runtimeConfig } from '../../core/config/runtime';
import type { NightshiftConfig } from '../../core/config/schema';
import { optionalEnv } from '../../core/env';
import { issueForgeToken } from './forge-tokens';
import { localSecretsFileSource, secretsManagerSource, type SecretSource } from '../secret-sources';
import {
  CI_TOKEN_PERMISSIONS,
  STATUS_TOKEN_PERMISSIONS,
  WEBHOOK_TOKEN_PERMISSIONS,
  WebhookTokenRequest,
  type WebhookTokenResponse,
} from './webhook-token-contract';

/**
 * The webhook token broker: a function of its own, apart from the run token broker, so that neither
 * the internet-facing webhook function nor a runner holds more than it needs. The webhook function
 * (its only caller, by IAM) names an allowlisted repository and gets an installation token for that
 * repository alone with issues write, pull requests read and metadata read (plus checks write for the
 * run-end report, or checks and actions read for CI auto-fix). It reads the App key (or
 * the PAT fallback), never the webhook secret or repo secrets, and reads no table.
 */
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
  if (!settings) throw new RepoNotAllowedError(request.repo);
  if (request.checks && request.ci) throw new Error('a webhook token is asked with checks or ci, not both');
  const permissions = request.checks ? STATUS_TOKEN_PERMISSIONS : request.ci ? CI_TOKEN_PERMISSIONS : WEBHOOK_TOKEN_PERMISSIONS;
  return mintRepoToken(deps, settings.name, permissions, 'nightshift-webhook-token-broker');
}

/**
 * A token for one allowlisted repository (`repo` as the allowlist spells it) with `permissions`: an
 * installation token narrowed to that repository, a token of the local forge, or the PAT fallback.
 * Shared by the webhook token broker and the branch facts function (which keeps its token to itself).
 */
export async function mintRepoToken(
  deps: WebhookTokenBrokerDeps,
  repo: string,
  permissions: Record<string, 'read' | 'write'>,
  userAgent: string,
): Promise<WebhookTokenResponse> {
  const github = deps.config.github;
  if (deps.forgeRoot) {
    const { token, expiresAt } = issueForgeToken(deps.forgeRoot, repo, null, 900, deps.now?.());
    return { token, expiresAt, mode: 'forge', repository: repo };
  }
  if (github.appId !== undefined && github.installationId !== undefined && github.privateKeySecret !== undefined) {
    const auth = createAppAuth({
      appId: github.appId,
      privateKey: await deps.secrets(github.privateKeySecret),
      request: githubRequest.defaults({ baseUrl: github.apiUrl.replace(/\/$/, ''), headers: { 'user-agent': userAgent } }),
    });
    const installation = await auth({
      type: 'installation',
      installationId: github.installationId,
      repositoryNames: [repo.split('/')[1]!],
      permissions: { ...permissions },
    });
    return { token: installation.token, expiresAt: installation.expiresAt, mode: 'app', repository: repo };
  }
  if (github.tokenSecret !== undefined) {
    // The PAT fallback is not narrowed per request: its scope is what it was created with (docs/github-app.md).
    const token = (await deps.secrets(github.tokenSecret)).trim();
    return { token, expiresAt: new Date((deps.now?.() ?? new Date()).getTime() + 900_000).toISOString(), mode: 'pat', repository: repo };
  }
  throw new Error('no GitHub App or token secret configured');
}

let deps: WebhookTokenBrokerDeps | undefined;

/** The broker's dependencies from the environment: the secrets (local file or Secrets Manager) and, in local mode, the forge. */
export function webhookTokenBrokerDepsFromEnv(): WebhookTokenBrokerDeps {
  const secretsFile = optionalEnv('NIGHTSHIFT_SECRETS_FILE');
  const forgeHome =
    optionalEnv('NIGHTSHIFT_GITHUB_MODE') === 'forge' ? join(optionalEnv('NIGHTSHIFT_HOME') ?? '.nightshift', 'forge') : undefined;
  return {
    config: runtimeConfig(),
    secrets: secretsFile ? localSecretsFileSource(secretsFile) : secretsManagerSource(new SecretsManagerClient({})),
    ...(forgeHome ? { forgeRoot: forgeHome } : {}),
  };
}

/** Lambda entry: `{ kind: "webhookToken", repo }` in, `WebhookTokenResponse` out; refusals throw. */
export async function handler(event: unknown): Promise<WebhookTokenResponse> {
  deps ??= webhookTokenBrokerDepsFromEnv();
  const response = await mintWebhookToken(deps, event);
  // Logged without the token.
  console.log(
    JSON.stringify({
      level: 'info',
      message: 'webhook token issued',
      mode: response.mode,
      repository: response.repository,
      expiresAt: response.expiresAt,
    }),
  );
  return response;
}
