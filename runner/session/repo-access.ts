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

  /** Invariant 7: nothing is ever pushed to the base branch. */
  checkBranchIsNotBase(): void {
    if (!this.branch || this.branch === this.baseBranch) throw new RunFailure('branch_is_base', `refusing to push to the base branch ${this.baseBranch}`);
  }

  /** Pushes the run branch (never anything else) with a token that has time left. */
  async pushBranch(): Promise<void> {
    this.checkBranchIsNotBase();
    await this.freshToken();
    await this.git.push(this.branch);
  }
}
