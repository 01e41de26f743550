import { lstatSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

/** A path argument from the model that is refused, with the reason the model is told. */
export class PathRefusedError extends Error {
  constructor(
    readonly requested: string,
    reason: string,
  ) {
    super(`path "${requested}" refused: ${reason}`);
    this.name = 'PathRefusedError';
  }
}

export interface ResolvedPath {
  /** Absolute path, inside the repository, with every existing component's symlinks resolved. */
  absolute: string;
  /** Relative to the repository root, forward slashes; "" for the root. */
  relative: string;
  exists: boolean;
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  // The root itself ("") is inside: it neither starts with ".." nor is absolute.
  return !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * Resolves a model-given path against the repository. Refuses absolute paths, `..` segments,
 * NUL bytes, anything under `.git`, and any path whose real location (after following symlinks of
 * the parts that exist) is outside the repository.
 */
export function resolveRepoPath(repoRoot: string, requested: string): ResolvedPath {
  if (requested.includes('\0')) throw new PathRefusedError(requested, 'contains a NUL byte');
  if (isAbsolute(requested)) throw new PathRefusedError(requested, 'must be relative to the repository');
  // Stryker disable next-line Regex: without "+" consecutive separators only add empty parts, which the filter drops
  const parts = requested.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new PathRefusedError(requested, 'must not contain ".."');
  if (parts.length > 0 && parts[0]!.toLowerCase() === '.git')
    throw new PathRefusedError(requested, 'the .git directory belongs to the runner');
  const root = realpathSync(repoRoot);
  let existing = root;
  let i = 0;
  for (; i < parts.length; i++) {
    const next = join(existing, parts[i]!);
    try {
      lstatSync(next);
    } catch {
      break;
    }
    const real = realpathSync(next);
    if (!isInside(root, real)) throw new PathRefusedError(requested, 'leads outside the repository (symlink)');
    existing = real;
  }
  const absolute = join(existing, ...parts.slice(i));
  const rel = relative(root, absolute).split(sep).join('/');
  if (rel.split('/')[0]!.toLowerCase() === '.git') throw new PathRefusedError(requested, 'the .git directory belongs to the runner');
  return { absolute, relative: rel, exists: i === parts.length };
}

/** The closest directory that exists above a resolved path (for creating parents safely). */
export function existingParent(path: string): string {
  let dir = dirname(path);
  for (;;) {
    try {
      lstatSync(dir);
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
}
