import { createHash } from 'node:crypto';
import * as z from 'zod';

/**
 * The setup cache (issue 14): what a repository's setup commands added to its checkout (its installed
 * dependencies), saved after a successful setup and before the agent runs, restored instead of running
 * setup again when nothing it depends on changed. docs/runner.md ("Setup cache") explains the choices.
 */

/** Lockfiles at the checkout's root that pin what a setup installs; their bytes are part of the key. */
export const SETUP_CACHE_LOCKFILES = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lock',
  'bun.lockb',
  'requirements.txt',
  'poetry.lock',
  'Pipfile.lock',
  'uv.lock',
  'Cargo.lock',
  'go.sum',
  'Gemfile.lock',
  'composer.lock',
] as const;

/** An entry's key: 64 hex digits (sha256), the only thing the runner names when it asks the broker for an entry. */
export const SetupCacheKey = z.string().regex(/^[0-9a-f]{64}$/);
export type SetupCacheKey = z.infer<typeof SetupCacheKey>;

export interface SetupCacheKeyInput {
  /** `owner/name`, as configured. */
  repo: string;
  /**
   * The ref whose code ran the setup: `base:<branch>` for a run started from a base branch, `branch:<name>`
   * for a run that continues a branch. A branch's setup runs that branch's code (install scripts), so
   * its entries are never trusted by a run of another branch.
   */
  scope: string;
  /** Lockfile name → sha256 of its bytes, for the lockfiles present (none is a valid key too). */
  lockfiles: Readonly<Record<string, string>>;
  /** The setup commands in the order they run (config first, then `.nightshift.yml`). */
  setupCommands: readonly string[];
  /** The runner image (its URI with the asset hash on AWS; the host's OS and Node locally): native builds differ between them. */
  image: string;
}

/** Bumped when what an entry holds or how it is restored changes, so old entries are never read. */
const FORMAT = 'nightshift-setup-cache/1';

export function setupCacheKey(input: SetupCacheKeyInput): SetupCacheKey {
  const lockfiles = Object.keys(input.lockfiles)
    .sort()
    .map((name) => [name, input.lockfiles[name]]);
  const canonical = JSON.stringify({
    format: FORMAT,
    repo: input.repo.toLowerCase(),
    scope: input.scope,
    lockfiles,
    setupCommands: input.setupCommands,
    image: input.image,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Where an entry lives, under its repository's prefix. The broker builds this from the run record's
 * repository and the key the runner sent, so a run of one repository can neither read nor write
 * another's entries whatever key it names.
 */
export function setupCacheObjectKey(repo: string, key: SetupCacheKey): string {
  const [owner, name] = repo.toLowerCase().split('/') as [string, string];
  return `setup-cache/${owner}/${name}/${SetupCacheKey.parse(key)}.tar.gz`;
}

/** Days an entry is kept (S3 lifecycle on AWS; local mode removes older ones when it saves). */
export const SETUP_CACHE_RETENTION_DAYS = 7;
