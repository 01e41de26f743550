import { bareRepoPath, branchHead } from './forge-repositories';
import { forgeBot, type ForgeIssue, type ForgePull, type ForgeReview, type ForgeUser } from './forge-records';

/**
 * The forge's records as GitHub's REST API and webhooks show them (users, repositories, issues, pull
 * requests, reviews and their comments), with URLs on the forge (API) or the web console (`html_url`).
 */

/** Where the forge is: its root of bare repositories, its URLs, and the app installation it answers for. */
export interface ForgeSite {
  root: string;
  /** The forge's own URL (known once it listens). */
  baseUrl(): string;
  /** Where pull requests are viewed: the web console in local mode, else the forge's own URL. */
  webUrl(): string;
  installationId: number;
}

export const userJson = (u: ForgeUser) => ({ login: u.login, type: u.type, id: 0 });

export type ForgeJson = ReturnType<typeof forgeJson>;

/** The views, with URLs on the site (its URL is read at each call: it is known only once the forge listens). */
export function forgeJson(site: ForgeSite) {
  const repoJson = (repo: string) => {
    const [owner, name] = repo.split('/') as [string, string];
    return { id: 1, name, full_name: repo, owner: { login: owner }, private: false, html_url: `${site.baseUrl()}/${repo}` };
  };
  const issueJson = (repo: string, issue: ForgeIssue) => ({
    id: issue.number,
    number: issue.number,
    title: issue.title,
    body: issue.body,
    state: issue.state,
    labels: issue.labels.map((name) => ({ name })),
    user: userJson(issue.user),
    html_url: `${site.baseUrl()}/${repo}/issues/${issue.number}`,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt ?? issue.createdAt,
  });
  /** A pull request seen through the issues API, as GitHub shows it. */
  const pullAsIssueJson = (repo: string, p: ForgePull) => ({
    id: p.number,
    number: p.number,
    title: p.title,
    body: p.body,
    state: p.state,
    labels: (p.labels ?? []).map((name) => ({ name })),
    user: userJson(forgeBot),
    html_url: `${site.baseUrl()}/${repo}/pull/${p.number}`,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    pull_request: { url: `${site.baseUrl()}/repos/${repo}/pulls/${p.number}` },
  });
  const pullJson = (repo: string, p: ForgePull) => {
    const [owner] = repo.split('/') as [string];
    return {
      id: p.number,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      draft: p.draft,
      html_url: `${site.webUrl()}/${repo}/pull/${p.number}`,
      url: `${site.baseUrl()}/repos/${repo}/pulls/${p.number}`,
      head: {
        ref: p.head,
        label: `${(p.headRepo ?? repo).split('/')[0]}:${p.head}`,
        sha: branchHead(bareRepoPath(site.root, repo), p.head) ?? null,
        repo: repoJson(p.headRepo ?? repo),
      },
      base: { ref: p.base, label: `${owner}:${p.base}`, repo: repoJson(repo) },
      labels: (p.labels ?? []).map((name) => ({ name })),
      user: userJson(forgeBot),
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.closedAt ?? null,
      merged: Boolean(p.mergedAt),
      merged_at: p.mergedAt ?? null,
    };
  };
  const reviewJson = (repo: string, number: number, r: ForgeReview) => ({
    id: r.id,
    user: userJson(r.user),
    body: r.body,
    state: r.state,
    commit_id: r.commitId,
    submitted_at: r.submittedAt,
    html_url: `${site.webUrl()}/${repo}/pull/${number}#pullrequestreview-${r.id}`,
  });
  const reviewCommentJson = (repo: string, number: number, r: ForgeReview, c: ForgeReview['comments'][number]) => ({
    id: c.id,
    pull_request_review_id: r.id,
    path: c.path,
    line: c.line,
    side: c.side,
    body: c.body,
    commit_id: r.commitId,
    user: userJson(r.user),
    created_at: r.submittedAt,
    updated_at: r.submittedAt,
    html_url: `${site.webUrl()}/${repo}/pull/${number}#discussion_r${c.id}`,
  });
  return { repoJson, issueJson, pullAsIssueJson, pullJson, reviewJson, reviewCommentJson };
}
