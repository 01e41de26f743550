import { z } from 'zod';
import { RunId } from '../core/runs/schemas';

/**
 * The token broker's Invoke payloads. The runner names only its run: the repository comes from the
 * run record, never from the caller, so a runner cannot ask for another repository's token or
 * secrets. `kind` defaults to `githubToken`; `repoSecrets` asks for the run repository's named
 * secrets (config `repos[].secrets`); `modelApiKey` for the key of the configured model provider
 * (config `model.apiKeySecret`, anthropic and openai).
 */
export const TokenBrokerRequest = z
  .object({
    kind: z.enum(['githubToken', 'repoSecrets', 'modelApiKey']).default('githubToken'),
    runId: RunId,
  })
  .strict();
export type TokenBrokerRequest = z.infer<typeof TokenBrokerRequest>;

/** The answer to `{ kind: "repoSecrets" }`: environment variable → secret value, for the run's repository only. */
export const RepoSecretsResponse = z
  .object({
    repository: z.string(),
    secrets: z.record(z.string(), z.string()),
  })
  .strict();
export type RepoSecretsResponse = z.infer<typeof RepoSecretsResponse>;

/** The answer to `{ kind: "modelApiKey" }`: the configured provider's API key. */
export const ModelApiKeyResponse = z
  .object({
    provider: z.enum(['anthropic', 'openai']),
    apiKey: z.string().min(1),
  })
  .strict();
export type ModelApiKeyResponse = z.infer<typeof ModelApiKeyResponse>;

export const GITHUB_TOKEN_PERMISSIONS = {
  contents: 'write',
  pull_requests: 'write',
  issues: 'write',
  metadata: 'read',
} as const;

export const TokenBrokerResponse = z
  .object({
    token: z.string().min(1),
    /** ISO time; the runner asks again after it. */
    expiresAt: z.string(),
    /** `app`: installation token for one repository; `pat`: the configured personal access token (weaker); `forge`: local mode. */
    mode: z.enum(['app', 'pat', 'forge']),
    repository: z.string(),
    permissions: z.record(z.string(), z.string()),
  })
  .strict();
export type TokenBrokerResponse = z.infer<typeof TokenBrokerResponse>;
