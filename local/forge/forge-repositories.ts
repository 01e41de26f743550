import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RepoName } from '../../core/config/schema';

/** Repository `owner/name` of the local forge is the bare repository `<forgeRoot>/owner/name.git`. */
export function bareRepoPath(forgeRoot: string, repo: string): string {
  const name = RepoName.parse(repo);
  const [owner, short] = name.split('/') as [string, string];
  return join(forgeRoot, owner.toLowerCase(), `${short.toLowerCase()}.git`);
}

function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Nightshift Forge',
      GIT_AUTHOR_EMAIL: 'forge@nightshift.local',
      GIT_COMMITTER_NAME: 'Nightshift Forge',
      GIT_COMMITTER_EMAIL: 'forge@nightshift.local',
    },
  });
}

export interface CreateRepoOptions {
  /** Default branch (default `main`). */
  branch?: string;
  message?: string;
  /** Replace an existing repository of that name. */
  replace?: boolean;
}

/** Creates the bare repository `owner/name` holding one commit of `directory`'s files. Returns its path. */
export function createBareRepoFromDirectory(forgeRoot: string, repo: string, directory: string, options: CreateRepoOptions = {}): string {
  const bare = bareRepoPath(forgeRoot, repo);
  const branch = options.branch ?? 'main';
  if (existsSync(bare)) {
    if (!options.replace) throw new Error(`forge repository ${repo} already exists at ${bare}`);
    rmSync(bare, { recursive: true, force: true });
  }
  mkdirSync(dirname(bare), { recursive: true });
  git(['init', '--quiet', '--bare', '--initial-branch', branch, bare]);
  const work = mkdtempSync(join(tmpdir(), 'nightshift-forge-seed-'));
  try {
    cpSync(directory, work, { recursive: true, filter: (src) => !src.split(/[\\/]/).includes('.git') });
    git(['init', '--quiet', '--initial-branch', branch], work);
    git(['add', '--all'], work);
    git(['commit', '--quiet', '--no-verify', '-m', options.message ?? 'Initial commit'], work);
    git(['push', '--quiet', bare, `HEAD:refs/heads/${branch}`], work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bare;
}

export function defaultBranchOf(bare: string): string {
  return git(['symbolic-ref', '--short', 'HEAD'], bare).trim();
}

/** Marks a branch protected (GitHub branch protection, as the forge's branches API reports it). */
export function protectBranch(bare: string, branch: string): void {
  git(['config', '--add', 'nightshift.protectedBranch', branch], bare);
}

export function protectedBranchesOf(bare: string): string[] {
  try {
    return git(['config', '--get-all', 'nightshift.protectedBranch'], bare)
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** The commit a branch points at, or undefined when the branch does not exist. */
export function branchHead(bare: string, branch: string): string | undefined {
  try {
    return git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], bare).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The branch a branch name points at when it is a symbolic ref (an alias), else undefined. */
export function branchAliasTarget(bare: string, branch: string): string | undefined {
  try {
    const target = git(['symbolic-ref', '--quiet', `refs/heads/${branch}`], bare).trim();
    return target.startsWith('refs/heads/') ? target.slice('refs/heads/'.length) : undefined;
  } catch {
    return undefined;
  }
}

/** True when the bare repository has this commit (a full sha). */
export function commitExists(bare: string, sha: string): boolean {
  if (!/^[0-9a-f]{40}$/.test(sha)) return false;
  try {
    return git(['cat-file', '-t', sha], bare).trim() === 'commit';
  } catch {
    return false;
  }
}

/** The merge conflicts `git merge-tree` reports, as an error. */
export class MergeConflictError extends Error {
  constructor(readonly head: string) {
    super(`${head} does not merge cleanly`);
    this.name = 'MergeConflictError';
  }
}

/**
 * Merges branch `head` into `base` in the bare repository, as GitHub's merge button does: a fast
 * forward when `base` has not moved, else a merge commit (git merge-tree, no work tree). Returns the new tip.
 */
export function mergeBranch(bare: string, base: string, head: string, message: string): string {
  const baseSha = branchHead(bare, base);
  const headSha = branchHead(bare, head);
  if (!baseSha || !headSha) throw new Error(`cannot merge ${head} into ${base}: a branch is missing`);
  let tip = headSha;
  try {
    git(['merge-base', '--is-ancestor', baseSha, headSha], bare);
  } catch {
    let tree: string;
    try {
      tree = git(['merge-tree', '--write-tree', baseSha, headSha], bare).split('\n')[0]!.trim();
    } catch {
      throw new MergeConflictError(head);
    }
    tip = git(['commit-tree', tree, '-p', baseSha, '-p', headSha, '-m', message], bare).trim();
  }
  git(['update-ref', `refs/heads/${base}`, tip, baseSha], bare);
  return tip;
}

/** Commit subjects of a branch, newest first (for tests and the demo). */
export function branchLog(bare: string, branch: string, format = '%H %s'): string[] {
  return git(['log', `--format=${format}`, `refs/heads/${branch}`], bare)
    .split('\n')
    .filter((l) => l !== '');
}

export function fileAt(bare: string, ref: string, path: string): string {
  return git(['show', `${ref}:${path}`], bare);
}
