import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * A repo's named secrets (config `repos[].secrets`: ENV_NAME → Secrets Manager secret name). The
 * runner reads them after the clone and offers them only to the repo's setup and test commands,
 * never to the agent's tool calls; every value is registered with the redactor first.
 */
export type SecretReader = (secretName: string) => Promise<string>;

export function secretsManagerReader(client: SecretsManagerClient): SecretReader {
  return async (secretName) => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
    if (typeof out.SecretString !== 'string') throw new Error(`secret ${secretName} has no string value`);
    return out.SecretString;
  };
}

/** Local mode: NIGHTSHIFT_SECRETS_FILE, a JSON object of secret name → value (the token broker reads the same file). */
export function secretsFileReader(file: string): SecretReader {
  return async (secretName) => {
    const secrets = z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(file, 'utf8')));
    const value = secrets[secretName];
    if (value === undefined) throw new Error(`secret ${secretName} is not in ${file}`);
    return value;
  };
}

export class RepoSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepoSecretError';
  }
}

/**
 * Reads every named secret, or throws naming the variable and the secret (never a value). A name
 * that the tool environment already sets (PATH, HOME, the proxy variables, ...) is refused: a secret
 * must not silently change how setup and tests run.
 */
export async function readRepoSecrets(named: Record<string, string> | undefined, read: SecretReader, reserved: Iterable<string>): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const taken = new Set([...reserved].map((n) => n.toUpperCase()));
  for (const [variable, secretName] of Object.entries(named ?? {})) {
    if (taken.has(variable.toUpperCase())) throw new RepoSecretError(`secret variable ${variable} would override the tool environment's ${variable}`);
    try {
      env[variable] = await read(secretName);
    } catch (err) {
      const reason = (err as { name?: string }).name && (err as { name?: string }).name !== 'Error' ? (err as { name: string }).name : (err as Error).message;
      throw new RepoSecretError(`could not read secret ${secretName} for ${variable}: ${reason}`);
    }
  }
  return env;
}
