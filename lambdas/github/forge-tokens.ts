import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';

/**
 * Tokens the local forge accepts: random per run, each bound to one repository and an expiry.
 * Only their SHA-256 is kept (under `<forge>/.tokens/`), so the forge's files hold no usable token.
 * The token brokers issue them in local mode (NIGHTSHIFT_GITHUB_MODE=forge), the local forge
 * (local/forge/forge-server.ts) verifies them; here, so no handler imports local mode.
 */
const ForgeTokenRecord = z
  .object({ repo: z.string(), runId: z.string().nullable(), expiresAt: z.string(), login: z.string().optional() })
  .strict();
export type ForgeTokenRecord = z.infer<typeof ForgeTokenRecord>;

function tokenDir(forgeRoot: string): string {
  return join(forgeRoot, '.tokens');
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** `login`: a person the token writes as (the CLI); without it the token writes as `nightshift[bot]`. */
export function issueForgeToken(
  forgeRoot: string,
  repo: string,
  runId: string | null,
  ttlSeconds = 3_600,
  now = new Date(),
  login?: string,
): { token: string; expiresAt: string } {
  const token = `nsf_${randomBytes(24).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1_000).toISOString();
  mkdirSync(tokenDir(forgeRoot), { recursive: true, mode: 0o700 });
  writeFileSync(
    join(tokenDir(forgeRoot), digest(token)),
    JSON.stringify({ repo: repo.toLowerCase(), runId, expiresAt, ...(login ? { login } : {}) }),
    { mode: 0o600 },
  );
  return { token, expiresAt };
}

/** The record of a token that is known and not expired, else undefined. */
export function verifyForgeToken(forgeRoot: string, token: string, now = new Date()): ForgeTokenRecord | undefined {
  try {
    const record = ForgeTokenRecord.parse(JSON.parse(readFileSync(join(tokenDir(forgeRoot), digest(token)), 'utf8')));
    return Date.parse(record.expiresAt) > now.getTime() ? record : undefined;
  } catch {
    return undefined;
  }
}
