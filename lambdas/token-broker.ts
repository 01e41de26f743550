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
import { GITHUB_TOKEN_PERMISSIONS, TokenBrokerRequest, type ModelApiKeyResponse, type RepoSecretsResponse, type TokenBrokerResponse } from './token-broker-contract';

/**
 * The token broker: the one place that holds the GitHub App key and can read repo secrets. Only the
 * runner task role may invoke it. While the run is RUNNING it mints a token for the run's own
 * repository (from the run record), or hands out that repository's named secrets, and never logs or
 * stores either.
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
  /** Local mode only: a model API key from the platform's environment (ANTHROPIC_API_KEY, OPENAI_API_KEY), before `secrets`. */
  modelKeyFromEnvironment?: (provider: 'anthropic' | 'openai') => string | undefined;
  now?: () => Date;
}

export class RepoSecretUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepoSecretUnavailableError';
  }
}

/** The run's repository settings, if the run is RUNNING, not cancel-requested and its repository is configured. */
async function activeRunRepo(deps: TokenBrokerDeps, runId: string) {
  const run = await deps.runs.get(runId);
  if (!run) throw new RunNotActiveError(runId, 'unknown');
  if (run.status !== 'RUNNING' || run.cancelRequested) throw new RunNotActiveError(runId, run.cancelRequested ? 'cancel-requested' : run.status);
  const settings = repoSettings(deps.config, run.repo);
  if (!settings) throw new RepoNotAllowedError(run.repo);
  return settings;
}

/**
 * The run repository's named secrets (config `repos[].secrets`), and no other repository's: the
 * runner's role cannot read Secrets Manager, so a run of repo A never sees repo B's secrets. A secret
 * that cannot be read is an error naming the variable and the secret, never a value.
 */
export async function repoSecretsFor(deps: TokenBrokerDeps, input: unknown): Promise<RepoSecretsResponse> {
  const request = TokenBrokerRequest.parse(input);
  if (request.kind !== 'repoSecrets') throw new Error(`expected a repoSecrets request, got ${request.kind}`);
  const settings = await activeRunRepo(deps, request.runId);
  const secrets: Record<string, string> = {};
  for (const [variable, secretName] of Object.entries(settings.secrets ?? {})) {
    try {
      secrets[variable] = await deps.secrets(secretName);
    } catch (err) {
      const name = (err as { name?: string }).name;
      throw new RepoSecretUnavailableError(`could not read secret ${secretName} for ${variable}: ${name && name !== 'Error' ? name : (err as Error).message}`);
    }
  }
  return { repository: settings.name, secrets };
}

/**
 * The configured model provider's API key (config `model.apiKeySecret`), to a RUNNING run only. The
 * runner asks for it at its first model call and sends it in a header, nowhere else.
 */
export async function modelApiKeyFor(deps: TokenBrokerDeps, input: unknown): Promise<ModelApiKeyResponse> {
  const request = TokenBrokerRequest.parse(input);
  if (request.kind !== 'modelApiKey') throw new Error(`expected a modelApiKey request, got ${request.kind}`);
  const model = deps.config.model;
  if (model.provider === 'bedrock' || model.apiKeySecret === undefined) throw new Error(`the configured model provider (${model.provider}) takes no API key`);
  await activeRunRepo(deps, request.runId);
  const fromEnvironment = deps.modelKeyFromEnvironment?.(model.provider)?.trim();
  if (fromEnvironment) return { provider: model.provider, apiKey: fromEnvironment };
  let apiKey: string;
  try {
    apiKey = (await deps.secrets(model.apiKeySecret)).trim();
  } catch (err) {
    const name = (err as { name?: string }).name;
    throw new RepoSecretUnavailableError(`could not read the model API key secret ${model.apiKeySecret}: ${name && name !== 'Error' ? name : (err as Error).message}`);
  }
  if (apiKey === '') throw new RepoSecretUnavailableError(`the model API key secret ${model.apiKeySecret} is empty`);
  return { provider: model.provider, apiKey };
}

export async function mintRunToken(deps: TokenBrokerDeps, input: unknown): Promise<TokenBrokerResponse> {
  const request = TokenBrokerRequest.parse(input);
  if (request.kind !== 'githubToken') throw new Error(`expected a githubToken request, got ${request.kind}`);
  const runId = request.runId;
  const settings = await activeRunRepo(deps, runId);
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
    // Local mode reads keys from the platform's environment too; a Lambda's environment holds none.
    ...(secretsFile ? { modelKeyFromEnvironment: (provider: 'anthropic' | 'openai') => optionalEnv(provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY') } : {}),
  };
}

/**
 * Lambda entry: `{ runId }` (or `{ kind: "githubToken", runId }`) in, `TokenBrokerResponse` out;
 * `{ kind: "repoSecrets", runId }` in, `RepoSecretsResponse` out; `{ kind: "modelApiKey", runId }` in,
 * `ModelApiKeyResponse` out. Refusals throw (FunctionError for the caller).
 */
export async function handler(event: unknown): Promise<TokenBrokerResponse | RepoSecretsResponse | ModelApiKeyResponse> {
  deps ??= defaultDeps();
  const request = TokenBrokerRequest.parse(event);
  if (request.kind === 'modelApiKey') {
    const response = await modelApiKeyFor(deps, request);
    console.log(JSON.stringify({ level: 'info', message: 'model API key issued', runId: request.runId, provider: response.provider }));
    return response;
  }
  if (request.kind === 'repoSecrets') {
    const response = await repoSecretsFor(deps, request);
    // Logged without values: which run got which variables of which repository.
    console.log(JSON.stringify({ level: 'info', message: 'repo secrets issued', runId: request.runId, repository: response.repository, variables: Object.keys(response.secrets) }));
    return response;
  }
  const response = await mintRunToken(deps, request);
  // Logged without the token: which run got which kind of token for which repository.
  console.log(JSON.stringify({ level: 'info', message: 'token issued', runId: request.runId, mode: response.mode, repository: response.repository, expiresAt: response.expiresAt }));
  return response;
}
