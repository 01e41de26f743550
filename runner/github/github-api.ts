import { pullDiscussion } from '../../core/github/pull-discussion';
import type { ThreadComment } from '../../core/github/thread-prompt';

/**
 * Core + REST methods only: the `octokit` umbrella pulls in webhooks and OAuth apps the runner never
 * uses. Loaded at the first GitHub call, not at the runner's start (docs/runner.md#start-up).
 */
async function restOctokit() {
  const [{ Octokit }, { restEndpointMethods }] = await Promise.all([
    import('@octokit/core'),
    import('@octokit/plugin-rest-endpoint-methods'),
  ]);
  return Octokit.plugin(restEndpointMethods);
}
type RestOctokit = InstanceType<Awaited<ReturnType<typeof restOctokit>>>;

/** The GitHub REST calls the runner makes (GitHub, GitHub Enterprise, or the local forge via `baseUrl`). */
export interface RepoInfo {
  defaultBranch: string;
  cloneUrl: string;
}

export interface PullRequestRef {
  number: number;
  url: string;
}

export interface OpenPullRequest extends PullRequestRef {
  /** The head branch is in this repository (not a fork). */
  sameRepository: boolean;
}

/** A pull request a review run reads. */
export interface PullRequestDetails extends PullRequestRef {
  state: 'open' | 'closed';
  headRef: string;
  headSha: string;
  /** `owner/name` of the head repository; null when the fork was deleted. */
  headRepo: string | null;
  baseRef: string;
  title: string;
  body: string;
}

/** An inline comment of a review, on the new side of the diff. */
export interface ReviewCommentInput {
  path: string;
  line: number;
  side: 'RIGHT';
  body: string;
}

export interface GithubApi {
  getRepo(): Promise<RepoInfo>;
  findOpenPull(branch: string): Promise<OpenPullRequest | undefined>;
  /** The branch's protection; undefined when the branch does not exist. */
  getBranch(branch: string): Promise<{ protected: boolean } | undefined>;
  createDraftPull(input: { title: string; body: string; head: string; base: string }): Promise<PullRequestRef>;
  updatePull(number: number, input: { title: string; body: string }): Promise<PullRequestRef>;
  getIssue(number: number): Promise<{ title: string; body: string }>;
  commentOnIssue(number: number, body: string): Promise<void>;
  /** Edits a comment (the run's status comment: core/github/run-status.ts). */
  updateIssueComment(commentId: number, body: string): Promise<void>;
  getPull(number: number): Promise<PullRequestDetails>;
  /** The pull request's diff as GitHub computes it (merge base → head). */
  getPullDiff(number: number): Promise<string>;
  /** Posts one review of type COMMENT: the only event the runner can send (never APPROVE or REQUEST_CHANGES). */
  createCommentReview(
    number: number,
    input: { commitId: string; body: string; comments: ReviewCommentInput[] },
  ): Promise<{ id: number; url: string }>;
  /** The pull request's discussion without commands, each comment marked trusted or not (core/github/pull-discussion.ts). */
  pullDiscussion(number: number, commentCommand: string): Promise<ThreadComment[]>;
}

export function octokitGithubApi(options: { baseUrl: string; token: string; repo: string; fetch?: typeof fetch }): GithubApi {
  const [owner, repo] = options.repo.split('/') as [string, string];
  let made: Promise<RestOctokit> | undefined;
  const octokit = () =>
    (made ??= restOctokit().then(
      (Octokit) =>
        new Octokit({
          auth: options.token,
          baseUrl: options.baseUrl.replace(/\/$/, ''),
          userAgent: 'nightshift-runner',
          ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
        }),
    ));
  return {
    async getRepo() {
      const { data } = await (await octokit()).rest.repos.get({ owner, repo });
      return { defaultBranch: data.default_branch, cloneUrl: data.clone_url };
    },
    async findOpenPull(branch) {
      const { data } = await (await octokit()).rest.pulls.list({ owner, repo, head: `${owner}:${branch}`, state: 'open', per_page: 10 });
      const pr = data.find((p) => p.head.ref === branch);
      return pr
        ? {
            number: pr.number,
            url: pr.html_url,
            sameRepository: (pr.head.repo?.full_name ?? '').toLowerCase() === options.repo.toLowerCase(),
          }
        : undefined;
    },
    async getBranch(branch) {
      try {
        const { data } = await (await octokit()).rest.repos.getBranch({ owner, repo, branch });
        return { protected: data.protected };
      } catch (err) {
        if ((err as { status?: number }).status === 404) return undefined;
        throw err;
      }
    },
    async createDraftPull(input) {
      const { data } = await (await octokit()).rest.pulls.create({
        owner,
        repo,
        title: input.title,
        body: input.body,
        head: input.head,
        base: input.base,
        draft: true,
      });
      return { number: data.number, url: data.html_url };
    },
    async updatePull(number, input) {
      const { data } = await (await octokit()).rest.pulls.update({
        owner,
        repo,
        pull_number: number,
        title: input.title,
        body: input.body,
      });
      return { number: data.number, url: data.html_url };
    },
    async getIssue(number) {
      const { data } = await (await octokit()).rest.issues.get({ owner, repo, issue_number: number });
      return { title: data.title, body: data.body ?? '' };
    },
    async commentOnIssue(number, body) {
      await (await octokit()).rest.issues.createComment({ owner, repo, issue_number: number, body });
    },
    async updateIssueComment(commentId, body) {
      await (await octokit()).rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
    },
    async getPull(number) {
      const { data } = await (await octokit()).rest.pulls.get({ owner, repo, pull_number: number });
      return {
        number: data.number,
        url: data.html_url,
        state: data.state === 'open' ? 'open' : 'closed',
        headRef: data.head.ref,
        headSha: data.head.sha,
        headRepo: data.head.repo?.full_name ?? null,
        baseRef: data.base.ref,
        title: data.title,
        body: data.body ?? '',
      };
    },
    async getPullDiff(number) {
      const { data } = await (await octokit()).request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
        owner,
        repo,
        pull_number: number,
        headers: { accept: 'application/vnd.github.diff' },
      });
      return data as unknown as string;
    },
    async createCommentReview(number, input) {
      const { data } = await (await octokit()).rest.pulls.createReview({
        owner,
        repo,
        pull_number: number,
        commit_id: input.commitId,
        body: input.body,
        event: 'COMMENT',
        comments: input.comments,
      });
      return { id: data.id, url: data.html_url };
    },
    async pullDiscussion(number, commentCommand) {
      // The same reads, and the same trust rule, as the webhook's for an iteration's context.
      const { octokitRepoClient } = await import('../../lambdas/github/github-repo-client');
      const reads = octokitRepoClient({
        baseUrl: options.baseUrl,
        token: options.token,
        repo: options.repo,
        userAgent: 'nightshift-runner',
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      return pullDiscussion(reads, number, { commentCommand });
    },
  };
}
