import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';

/**
 * The run key: the credential that makes a caller of the token broker "the runner task launched for
 * this run" (docs/security.md#broker-identity-and-run-scoped-credentials). Admit creates one per launch (32 random bytes), stores only its
 * SHA-256 on the run item, and hands the key to the state machine, which passes it to that one task as
 * a container override (RUN_KEY), beside the task token. The broker hashes what a caller presents and
 * compares it with the stored hash in constant time. Nothing the runner can write holds the hash: the
 * runner has no DynamoDB access at all (docs/security.md).
 */
export const RunKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a run key (43 base64url characters)');
export type RunKey = z.infer<typeof RunKey>;

export const RunKeyHash = z.string().regex(/^[0-9a-f]{64}$/);

export function newRunKey(): RunKey {
  return randomBytes(32).toString('base64url');
}

export function hashRunKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Whether `presented` is the key whose hash is `storedHash`. Both sides are fixed-length digests, so
 * the comparison takes the same time whatever the key; a missing hash (a run never launched) matches nothing.
 */
export function runKeyMatches(presented: string, storedHash: string | undefined): boolean {
  if (storedHash === undefined || !RunKeyHash.safeParse(storedHash).success) return false;
  return timingSafeEqual(Buffer.from(hashRunKey(presented), 'hex'), Buffer.from(storedHash, 'hex'));
}
