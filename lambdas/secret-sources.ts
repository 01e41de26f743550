import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'node:fs';
import * as z from 'zod';

/**
 * Where the functions that hold secrets read them: Secrets Manager in AWS, `secrets.json` in local mode.
 * A module of its own so that the webhook function and the webhook token broker, which read secrets but
 * presign no run object and read no table, do not load the run token broker's S3 and DynamoDB clients.
 */
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
