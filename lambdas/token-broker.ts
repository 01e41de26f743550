import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAppAuth } from '@octokit/auth-app';
import { readFileSync } from 'node:fs';
import { request as githubRequest } from '@octokit/request';
import { join } from 'node:path';
import { z } from 'zod';
import { repoSettings } from '../core/config/load';
import { runtimeConfig } from '../core/config/runtime';
import type { NightshiftConfig } from '../core/config/schema';
import { optionalEnv } from '../core/env';
import { createDocumentClient, tableNamesFromEnv } from '../core/store/client';
import { createStore } from '../core/store';
import type { RunRepository } from '../core/store/ports';
import { issueForgeToken } from '../local/forge/forge-tokens';
import { GITHUB_TOKEN_PERMISSIONS, TokenBrokerRequest, type TokenBrokerResponse } from './token-broker-contract';

/**
 * The token broker: the one place that holds the GitHub App key. Only the runner task role may
 * invoke it. It mints a token for the run's own repository (from the run record) while the run is
 * RUNNING, and never logs or stores it.
 */
export class RunNotActiveError extends Error {
  constructor(runId: string, status: string) {
    super(`run ${runId} is ${status}; tokens are only issued to RUNNING runs`);
    this.name = 'RunNotActiveError';
  }
}

export class RepoNotAllowedError extends Error {
  constructor(repo: string) {
    super(`repository ${repo} is not in the configuration's repos`);
    this.name = 'RepoNotAllowedError';
  }
}

/** Reads a secret's string value (Secrets Manager in AWS, `secrets.json` in local mode). */
export type SecretSource = (name: string) => Promise<string>;

export function secretsManagerSource(client: SecretsManagerClient): SecretSource {
  return async (name) => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: name }));
    if (!out.SecretString) throw new Error(`secret ${name} has no string value`);
    return out.SecretString;
  };
}

export function localSecretsFileSource(file: string): SecretSource {
  return async (name) => {
    const secrets = z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(file, 'utf8')));
    const value = secrets[name];
    if (value === undefined) throw new Error(`secret ${name} is not in ${file}`);
    return value;
  };
}

export interface TokenBrokerDeps {
  runs: RunRepository;
  config: NightshiftConfig;
  secrets: SecretSource;
  /** `forge`: local mode, tokens the local forge under this directory accepts. */
  forgeRoot?: string;
  now?: () => Date;
}

export async function mintRunToken(deps: TokenBrokerDeps, input: unknown): Promise<TokenBrokerResponse> {
  const { runId } = TokenBrokerRequest.parse(input);
  const run = await deps.runs.get(runId);
  if (!run) throw new RunNotActiveError(runId, 'unknown');
  if (run.status !== 'RUNNING' || run.cancelRequested) throw new RunNotActiveError(runId, run.cancelRequested ? 'cancel-requested' : run.status);
  const settings = repoSettings(deps.config, run.repo);
  if (!settings) throw new RepoNotAllowedError(run.repo);
  const name = settings.name.split('/')[1]!;
  const github = deps.config.github;

  if (deps.forgeRoot) {
    const { token, expiresAt } = issueForgeToken(deps.forgeRoot, settings.name, runId, 3_600, deps.now?.());
    return { token, expiresAt, mode: 'forge', repository: settings.name, permissions: { ...GITHUB_TOKEN_PERMISSIONS } };
  }
  if (github.appId !== undefined && github.installationId !== undefined && github.privateKeySecret !== undefined) {
    const privateKey = await deps.secrets(github.privateKeySecret);
    const auth = createAppAuth({
      appId: github.appId,
      privateKey,
      request: githubRequest.defaults({ baseUrl: github.apiUrl.replace(/\/$/, ''), headers: { 'user-agent': 'nightshift-token-broker' } }),
    });
    const installation = await auth({
      type: 'installation',
      installationId: github.installationId,
      repositoryNames: [name],
      permissions: { ...GITHUB_TOKEN_PERMISSIONS },
      // A run's token is never shared with another run from a cache.
      refresh: true,
    });
    return {
      token: installation.token,
      expiresAt: installation.expiresAt,
      mode: 'app',
      repository: settings.name,
      permissions: Object.fromEntries(Object.entries(installation.permissions).map(([k, v]) => [k, String(v)])),
    };
  }
  if (github.tokenSecret !== undefined) {
    // Weaker fallback: a fine-grained PAT is not scoped per run; its scope is whatever it was created with.
    const token = (await deps.secrets(github.tokenSecret)).trim();
    const expiresAt = new Date((deps.now?.() ?? new Date()).getTime() + 3_600_000).toISOString();
    return { token, expiresAt, mode: 'pat', repository: settings.name, permissions: { ...GITHUB_TOKEN_PERMISSIONS } };
  }
  throw new Error('no GitHub App or token secret configured');
}

let deps: TokenBrokerDeps | undefined;

function defaultDeps(): TokenBrokerDeps {
  const secretsFile = optionalEnv('NIGHTSHIFT_SECRETS_FILE');
  const forgeHome = optionalEnv('NIGHTSHIFT_GITHUB_MODE') === 'forge' ? join(optionalEnv('NIGHTSHIFT_HOME') ?? '.nightshift', 'forge') : undefined;
  return {
    runs: createStore(createDocumentClient(), tableNamesFromEnv()).runs,
    config: runtimeConfig(),
    secrets: secretsFile ? localSecretsFileSource(secretsFile) : secretsManagerSource(new SecretsManagerClient({})),
    ...(forgeHome ? { forgeRoot: forgeHome } : {}),
  };
}

/** Lambda entry: `{ runId }` in, `TokenBrokerResponse` out; refusals throw (FunctionError for the caller). */
export async function handler(event: unknown): Promise<TokenBrokerResponse> {
  deps ??= defaultDeps();
  const response = await mintRunToken(deps, event);
  // Logged without the token: which run got which kind of token for which repository.
  console.log(JSON.stringify({ level: 'info', message: 'token issued', runId: (event as { runId?: string }).runId, mode: response.mode, repository: response.repository, expiresAt: response.expiresAt }));
  return response;
}
