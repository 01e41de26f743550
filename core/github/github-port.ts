import type { CheckRunOutput } from './run-status';

/**
 * The GitHub calls the webhook handler makes for one repository, with a token of the webhook broker
 * (issues write, pull requests read, metadata read: lambdas/github/webhook-token-broker.ts).
 * Implemented over Octokit (lambdas/github/github-repo-client.ts) against GitHub or the local forge.
 */
export type RepoPermission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface GithubUser {
  login: string;
  type: string;
}

export interface IssueDetails {
  title: string;
  body: string | null;
  user: GithubUser;
  isPullRequest: boolean;
}

export interface PullDetails {
  number: number;
  state: 'open' | 'closed';
  headRef: string;
  /** `owner/name` of the head repository; null when the fork was deleted. */
  headRepo: string | null;
  baseRepo: string;
  htmlUrl: string;
  /** The head commit (null when the payload did not carry it). */
  headSha: string | null;
}

export interface GithubComment {
  id: number;
  user: GithubUser;
  body: string;
  createdAt: string;
  path?: string;
  line?: number | null;
}

export type ReactionTarget =
  | { kind: 'issue'; number: number }
  | { kind: 'issue_comment'; id: number }
  | { kind: 'review_comment'; id: number };

/** 👀 a run started; 👍 an inbox command was taken; 😕 it was refused. */
export type ReactionContent = 'eyes' | '+1' | 'confused';

export interface GithubRepoPort {
  /** The user's permission on the repository, as GitHub reports it (`role_name` when it is finer). */
  permissionOf(login: string): Promise<RepoPermission>;
  issue(number: number): Promise<IssueDetails>;
  issueComments(number: number): Promise<GithubComment[]>;
  pull(number: number): Promise<PullDetails>;
  /** Inline review comments of a pull request. */
  reviewComments(number: number): Promise<GithubComment[]>;
  /** Review bodies of a pull request (empty bodies left out). */
  reviews(number: number): Promise<GithubComment[]>;
  /** A new comment on the issue or pull request; its id, to edit it later. */
  comment(number: number, body: string): Promise<{ id: number }>;
  editComment(commentId: number, body: string): Promise<void>;
  react(target: ReactionTarget, content: ReactionContent): Promise<void>;
  /** True when the token may write check runs (a GitHub App or the local forge; not the PAT fallback). */
  readonly canWriteChecks: boolean;
  /** The check run of `externalId` (a run id) on the commit: created, or updated when it exists. */
  upsertCheckRun(input: { headSha: string; externalId: string; output: CheckRunOutput }): Promise<void>;
}

/** Write, maintain or admin: who may trigger a run (docs/github-app.md#who-may-trigger). */
export function canTrigger(permission: RepoPermission): boolean {
  return permission === 'admin' || permission === 'maintain' || permission === 'write';
}
