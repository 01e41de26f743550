import { Octokit as OctokitCore } from '@octokit/core';
import { restEndpointMethods } from '@octokit/plugin-rest-endpoint-methods';
import { z } from 'zod';
import type { GithubComment, GithubRepoPort, RepoPermission } from '../../core/github/github-port';
import { CHECK_RUN_NAME } from '../../core/github/run-status';

const Octokit = OctokitCore.plugin(restEndpointMethods);

/** Each GitHub call of the webhook handler is bounded, so that the answer stays inside GitHub's 10 s. */
export const GITHUB_CALL_TIMEOUT_MS = 2_500;
/** Comments read per thread (newest pages are what matters; the prompt keeps what fits). */
const MAX_COMMENTS = 100;

const User = z.object({ login: z.string(), type: z.string() }).passthrough();
const Permission = z.object({ permission: z.string(), role_name: z.string().optional() }).passthrough();

function permissionFrom(answer: z.infer<typeof Permission>): RepoPermission {
  const role = answer.role_name?.toLowerCase();
  if (role === 'admin' || role === 'maintain' || role === 'write' || role === 'triage' || role === 'read') return role;
  const p = answer.permission.toLowerCase();
  return p === 'admin' || p === 'write' || p === 'read' ? p : 'none';
}

/** GithubRepoPort over Octokit (GitHub, GitHub Enterprise, or the local forge through `baseUrl`). */
export function octokitRepoClient(options: { baseUrl: string; token: string; repo: string; canWriteChecks?: boolean }): GithubRepoPort {
  const [owner, repo] = options.repo.split('/') as [string, string];
  const octokit = new Octokit({
    auth: options.token,
    baseUrl: options.baseUrl.replace(/\/$/, ''),
    userAgent: 'nightshift-webhook',
    request: { fetch: (url: string, init: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(GITHUB_CALL_TIMEOUT_MS) }) },
  });
  const comment = (c: { id: number; user: unknown; body?: string | null; created_at: string; path?: string; line?: number | null }): GithubComment | undefined => {
    const user = User.safeParse(c.user);
    if (!user.success || !c.body) return undefined;
    return { id: c.id, user: { login: user.data.login, type: user.data.type }, body: c.body, createdAt: c.created_at, ...(c.path !== undefined ? { path: c.path, line: c.line ?? null } : {}) };
  };
  const defined = <T>(items: (T | undefined)[]): T[] => items.filter((i): i is T => i !== undefined);
  return {
    async permissionOf(login) {
      try {
        const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: login });
        return permissionFrom(Permission.parse(data));
      } catch (err) {
        // GitHub answers 404 for a user who is not a collaborator at all.
        if ((err as { status?: number }).status === 404) return 'none';
        throw err;
      }
    },
    async issue(number) {
      const { data } = await octokit.rest.issues.get({ owner, repo, issue_number: number });
      const user = User.parse(data.user);
      return { title: data.title, body: data.body ?? null, user: { login: user.login, type: user.type }, isPullRequest: data.pull_request !== undefined };
    },
    async issueComments(number) {
      const { data } = await octokit.rest.issues.listComments({ owner, repo, issue_number: number, per_page: MAX_COMMENTS });
      return defined(data.map((c) => comment({ id: c.id, user: c.user, body: c.body ?? null, created_at: c.created_at })));
    },
    async pull(number) {
      const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
      return { number: data.number, state: data.state === 'open' ? 'open' : 'closed', headRef: data.head.ref, headRepo: data.head.repo?.full_name ?? null, baseRepo: data.base.repo.full_name, htmlUrl: data.html_url, headSha: data.head.sha || null };
    },
    async reviewComments(number) {
      const { data } = await octokit.rest.pulls.listReviewComments({ owner, repo, pull_number: number, per_page: MAX_COMMENTS });
      return defined(data.map((c) => comment({ id: c.id, user: c.user, body: c.body, created_at: c.created_at, path: c.path, line: c.line ?? null })));
    },
    async reviews(number) {
      const { data } = await octokit.rest.pulls.listReviews({ owner, repo, pull_number: number, per_page: MAX_COMMENTS });
      return defined(data.map((r) => (r.submitted_at ? comment({ id: r.id, user: r.user, body: r.body, created_at: r.submitted_at }) : undefined)));
    },
    async comment(number, body) {
      const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body });
      return { id: data.id };
    },
    async editComment(commentId, body) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
    },
    canWriteChecks: options.canWriteChecks ?? false,
    async upsertCheckRun({ headSha, externalId, output }) {
      const { data } = await octokit.rest.checks.listForRef({ owner, repo, ref: headSha, check_name: CHECK_RUN_NAME, per_page: 100 });
      const existing = data.check_runs.find((c) => c.external_id === externalId);
      const fields = { name: output.name, status: 'completed' as const, conclusion: output.conclusion, completed_at: new Date().toISOString(), output: { title: output.title, summary: output.summary } };
      if (existing) await octokit.rest.checks.update({ owner, repo, check_run_id: existing.id, ...fields });
      else await octokit.rest.checks.create({ owner, repo, head_sha: headSha, external_id: externalId, ...fields });
    },
    async react(target, content) {
      if (target.kind === 'issue') await octokit.rest.reactions.createForIssue({ owner, repo, issue_number: target.number, content });
      else if (target.kind === 'issue_comment') await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: target.id, content });
      else await octokit.rest.reactions.createForPullRequestReviewComment({ owner, repo, comment_id: target.id, content });
    },
  };
}
