import { branchPushRefusal, RUN_BRANCH_PREFIX } from '../../core/runs/branch-ownership';
import type { WorkspaceGit } from '../git/workspace-git';
import type { GithubApi } from '../github/github-api';
import type { RunContext } from './run-context';
import { RunFailure } from './run-errors';

/**
 * The run's hold on its repository: the checkout's git, the GitHub API, the installation token
 * behind both (refreshed before it runs out) and the run branch, which is the only ref it pushes.
 */
export class RepoAccess {
  private tokenExpiresAt: number;

  constructor(
    private readonly ctx: RunContext,
    readonly git: WorkspaceGit,
    private api: GithubApi,
    token: { expiresAt: string },
    readonly branch: string,
    readonly baseBranch: string,
    readonly baseCommit: string,
    private readonly proxyUrl: string | undefined,
    /** The repository's web address (`https://github.com/owner/name`); undefined for a local forge's file clone. */
    readonly webUrl: string | undefined,
  ) {
    this.tokenExpiresAt = Date.parse(token.expiresAt);
  }

  get github(): GithubApi {
    return this.api;
  }

  /** Installation tokens live an hour: a long run asks the broker again before it pushes. */
  async freshToken(): Promise<void> {
    if (Number.isFinite(this.tokenExpiresAt) && this.tokenExpiresAt - Date.now() > 10 * 60_000) return;
    const { deps } = this.ctx;
    const token = await deps.tokens.tokenFor(this.ctx.run.runId);
    deps.redactor.add(token.token);
    this.tokenExpiresAt = Date.parse(token.expiresAt);
    this.git.setToken(token.token);
    this.api = deps.github(token.token, this.ctx.run.repo, this.proxyUrl);
  }

  /** Pushes the run branch (never anything else, never forced) with a token that has time left, after checking it is still the run's own. */
  async pushBranch(): Promise<void> {
    await this.freshToken();
    await assertRunOwnsBranch(this.api, this.git, this.branch, this.baseBranch);
    await this.git.push(this.branch);
  }
}

/**
 * Invariant 7, asked of GitHub right before each push (and before a continued branch is checked out):
 * the branch is not the default, base or a protected branch, not an alias of another, and it is a
 * `nightshift/` branch or the head of an open same-repository pull request.
 */
export async function assertRunOwnsBranch(
  github: GithubApi,
  git: WorkspaceGit | undefined,
  branch: string,
  baseBranch: string,
): Promise<void> {
  const [repo, state, pull, aliasOf] = await Promise.all([
    github.getRepo(),
    github.getBranch(branch),
    branch.toLowerCase().startsWith(RUN_BRANCH_PREFIX) ? Promise.resolve(undefined) : github.findOpenPull(branch),
    git ? git.remoteAliasTarget(branch) : Promise.resolve(undefined),
  ]);
  const refusal = branchPushRefusal({
    branch,
    defaultBranch: repo.defaultBranch,
    baseBranch,
    isProtected: state?.protected ?? false,
    aliasOf,
    isOpenPullRequestHead: pull?.sameRepository === true,
  });
  if (refusal) throw new RunFailure('branch_not_allowed', `refusing to push: ${refusal}`);
}
