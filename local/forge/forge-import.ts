import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { RepoName } from '../../core/config/schema';
import { bareRepoPath } from './forge-repositories';

/** Why a directory cannot become a forge repository (the message is for the person who typed the command). */
export class ForgeImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForgeImportError';
  }
}

export interface ImportedRepository {
  repo: string;
  bare: string;
  branch: string;
  commit: string;
}

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
  });
}

function tryGit(args: string[], cwd: string): string | undefined {
  try {
    return git(args, cwd).trim();
  } catch {
    return undefined;
  }
}

/**
 * `nightshift forge add`: the bare repository `owner/name` of the local forge from a git checkout,
 * with the history of its current branch (that branch becomes the default). Everything is checked
 * before anything is written: the name, that it is new, that `directory` is a git work tree with a
 * commit on a branch. Uncommitted changes are not taken (the forge holds what git holds).
 */
export function importCheckout(forgeRoot: string, repo: string, directory: string, beforeWrite: () => void = () => {}): ImportedRepository {
  const parsed = RepoName.safeParse(repo);
  if (!parsed.success) throw new ForgeImportError(`"${repo}" is not a repository name: use owner/name (letters, digits, '-', '_', '.')`);
  const dir = resolve(directory);
  if (!existsSync(dir)) throw new ForgeImportError(`${dir} does not exist`);
  if (tryGit(['rev-parse', '--is-inside-work-tree'], dir) !== 'true')
    throw new ForgeImportError(`${dir} is not a git work tree (run git init and commit your files first)`);
  const commit = tryGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], dir);
  if (!commit) throw new ForgeImportError(`${dir} has no commit yet (commit your files first)`);
  const branch = tryGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], dir);
  if (!branch) throw new ForgeImportError(`${dir} is not on a branch (detached HEAD): check out the branch the forge should hold`);
  const bare = bareRepoPath(forgeRoot, parsed.data);
  if (existsSync(bare)) throw new ForgeImportError(`the forge already has ${parsed.data} (${bare})`);
  beforeWrite();
  mkdirSync(dirname(bare), { recursive: true });
  try {
    git(['init', '--quiet', '--bare', '--initial-branch', branch, bare], dirname(bare));
    git(['push', '--quiet', bare, `HEAD:refs/heads/${branch}`], dir);
  } catch (error) {
    rmSync(bare, { recursive: true, force: true });
    throw error;
  }
  return { repo: parsed.data, bare, branch, commit };
}
