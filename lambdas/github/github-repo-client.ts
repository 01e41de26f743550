import { Octokit } from '@octokit/core';
import * as z from 'zod';
import type { GithubComment, GithubRepoPort, RepoPermission } from '../../core/github/github-port';
import { CHECK_RUN_NAME } from '../../core/github/run-status';

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

/** An Octokit whose every call is bounded by GITHUB_CALL_TIMEOUT_MS, through `fetch` when given (the runner's proxied one). */
export function boundedOctokit(options: { baseUrl: string; token: string; fetch?: typeof fetch; userAgent?: string }): Octokit {
  const send = options.fetch ?? fetch;
  return new Octokit({
    auth: options.token,
    baseUrl: options.baseUrl.replace(/\/$/, ''),
    userAgent: options.userAgent ?? 'nightshift-webhook',
    request: { fetch: (url: string, init: RequestInit) => send(url, { ...init, signal: AbortSignal.timeout(GITHUB_CALL_TIMEOUT_MS) }) },
  });
}

/**
 * GithubRepoPort over Octokit (GitHub, GitHub Enterprise, or the local forge through `baseUrl`). Calls go
 * through `octokit.request` with typed routes: the REST plugin's table of every endpoint is 80 KiB of the bundle.
 */
export function octokitRepoClient(options: {
  baseUrl: string;
  token: string;
  repo: string;
  canWriteChecks?: boolean;
  /** The runner's client goes through the egress proxy (its proxied fetch); the webhook's calls GitHub directly. */
  fetch?: typeof fetch;
  userAgent?: string;
}): GithubRepoPort {
  const [owner, repo] = options.repo.split('/') as [string, string];
  const octokit = boundedOctokit(options);
  // Octokit's JSON reader answers ids past 2^53 as bigint; GitHub's comment ids are far below that.
  const comment = (c: {
    id: number | bigint;
    user: unknown;
    body?: string | null;
    created_at: string;
    path?: string;
    line?: number | null;
  }): GithubComment | undefined => {
    const user = User.safeParse(c.user);
    if (!user.success || !c.body) return undefined;
    return {
      id: Number(c.id),
      user: { login: user.data.login, type: user.data.type },
      body: c.body,
      createdAt: c.created_at,
      ...(c.path !== undefined ? { path: c.path, line: c.line ?? null } : {}),
    };
  };
  const defined = <T>(items: (T | undefined)[]): T[] => items.filter((i): i is T => i !== undefined);
  return {
    async permissionOf(login) {
      try {
        const { data } = await octokit.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', {
          owner,
          repo,
          username: login,
        });
        return permissionFrom(Permission.parse(data));
      } catch (err) {
        // GitHub answers 404 for a user who is not a collaborator at all.
        if ((err as { status?: number }).status === 404) return 'none';
        throw err;
      }
    },
    async issue(number) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', { owner, repo, issue_number: number });
      const user = User.parse(data.user);
      return {
        title: data.title,
        body: data.body ?? null,
        user: { login: user.login, type: user.type },
        isPullRequest: data.pull_request !== undefined,
      };
    },
    async issueComments(number) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: number,
        per_page: MAX_COMMENTS,
      });
      return defined(data.map((c) => comment({ id: c.id, user: c.user, body: c.body ?? null, created_at: c.created_at })));
    },
    async pull(number) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner, repo, pull_number: number });
      return {
        number: data.number,
        state: data.state === 'open' ? 'open' : 'closed',
        headRef: data.head.ref,
        headRepo: data.head.repo?.full_name ?? null,
        baseRepo: data.base.repo.full_name,
        htmlUrl: data.html_url,
        headSha: data.head.sha || null,
      };
    },
    async reviewComments(number) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/comments', {
        owner,
        repo,
        pull_number: number,
        per_page: MAX_COMMENTS,
      });
      return defined(
        data.map((c) => comment({ id: c.id, user: c.user, body: c.body, created_at: c.created_at, path: c.path, line: c.line ?? null })),
      );
    },
    async reviews(number) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
        owner,
        repo,
        pull_number: number,
        per_page: MAX_COMMENTS,
      });
      return defined(
        data.map((r) => (r.submitted_at ? comment({ id: r.id, user: r.user, body: r.body, created_at: r.submitted_at }) : undefined)),
      );
    },
    async comment(number, body) {
      const { data } = await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: number,
        body,
      });
      return { id: Number(data.id) };
    },
    async editComment(commentId, body) {
      await octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { owner, repo, comment_id: commentId, body });
    },
    canWriteChecks: options.canWriteChecks ?? false,
    async upsertCheckRun({ headSha, externalId, output }) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
        owner,
        repo,
        ref: headSha,
        check_name: CHECK_RUN_NAME,
        per_page: 100,
      });
      const existing = data.check_runs.find((c) => c.external_id === externalId);
      const fields = {
        name: output.name,
        status: 'completed' as const,
        conclusion: output.conclusion,
        completed_at: new Date().toISOString(),
        output: { title: output.title, summary: output.summary },
      };
      if (existing)
        await octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
          owner,
          repo,
          check_run_id: existing.id,
          ...fields,
        });
      else
        await octokit.request('POST /repos/{owner}/{repo}/check-runs', {
          owner,
          repo,
          head_sha: headSha,
          external_id: externalId,
          ...fields,
        });
    },
    async react(target, content) {
      if (target.kind === 'issue')
        await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/reactions', {
          owner,
          repo,
          issue_number: target.number,
          content,
        });
      else if (target.kind === 'issue_comment')
        await octokit.request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', {
          owner,
          repo,
          comment_id: target.id,
          content,
        });
      else
        await octokit.request('POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions', {
          owner,
          repo,
          comment_id: target.id,
          content,
        });
    },
  };
}
