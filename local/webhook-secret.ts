import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as z from 'zod';

/**
 * The secret the local forge signs its webhooks with: the value named `name` in the local secrets
 * file; a random one is created there when it is missing.
 */
export function localWebhookSecret(secretsFile: string, name: string): string {
  const secrets = z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(secretsFile, 'utf8')));
  const existing = secrets[name];
  if (existing) return existing;
  const secret = randomBytes(32).toString('hex');
  writeFileSync(secretsFile, `${JSON.stringify({ ...secrets, [name]: secret }, null, 2)}\n`, { mode: 0o600 });
  return secret;
}
