import * as z from 'zod';
import { RepoName } from '../../core/config/schema';
import { BranchName } from '../../core/runs/schemas';

/**
 * The branch facts function's Invoke payload (lambdas/github/branch-facts.ts): what GitHub says about
 * one branch of one allowlisted repository, so that submit can refuse a `branch` the run must not push
 * (invariant 7) before anything is written. The answer holds facts only, never a token: the API and
 * webhook functions may invoke this function, and neither may hold a GitHub token of the broker's.
 */
export const BranchFactsRequest = z.object({ kind: z.literal('branchFacts'), repo: RepoName, branch: BranchName }).strict();
export type BranchFactsRequest = z.infer<typeof BranchFactsRequest>;

/**
 * Reading a repository, a branch and the open pull requests: nothing that writes. Contents read is
 * asked too because GitHub may authorize the branch endpoint under it; the token never leaves the
 * function, which holds the App key anyway, so narrowing it further would only risk a refused call.
 */
export const BRANCH_FACTS_PERMISSIONS = { metadata: 'read', contents: 'read', pull_requests: 'read' } as const;

export const BranchFactsAnswer = z
  .object({
    repository: z.string(),
    defaultBranch: z.string().min(1),
    branch: z
      .object({
        exists: z.boolean(),
        /** The name GitHub answers for it: another branch's when the asked name is an alias (a renamed branch, a symbolic ref). */
        name: z.string().nullable(),
        protected: z.boolean(),
      })
      .strict(),
    /** An open pull request of this repository (not a fork) has the branch as its head. */
    openPullRequestHead: z.boolean(),
  })
  .strict();
export type BranchFactsAnswer = z.infer<typeof BranchFactsAnswer>;

/** The same function asked about one pull request (a review run's `pr`): facts only, no token. */
export const PullFactsRequest = z.object({ kind: z.literal('pullFacts'), repo: RepoName, pull: z.number().int().positive() }).strict();
export type PullFactsRequest = z.infer<typeof PullFactsRequest>;

export const PullFactsAnswer = z
  .object({
    repository: z.string(),
    /** null: the repository has no such pull request. */
    pull: z
      .object({ state: z.enum(['open', 'closed']), headRef: z.string().min(1), headRepo: z.string().nullable() })
      .strict()
      .nullable(),
  })
  .strict();
export type PullFactsAnswer = z.infer<typeof PullFactsAnswer>;

/**
 * The same function asked for a run branch's diff against its base (`GET /v1/runs/{runId}/diff`,
 * the deployed stack's console): GitHub's compare diff, and `.nightshift.yml` at the base. Text only,
 * never a token; whoever shows it classifies it (console/server/run-diff.ts).
 */
/** Without `base`, the repository's default branch (where a run without `baseBranch` started). */
export const CompareDiffRequest = z
  .object({ kind: z.literal('compareDiff'), repo: RepoName, base: BranchName.optional(), head: BranchName })
  .strict();
export type CompareDiffRequest = z.infer<typeof CompareDiffRequest>;

/** The most diff text the function returns (a Lambda answer is at most 6 MB, and the API's classified answer is larger than the text). */
export const MAX_COMPARE_DIFF_CHARS = 1024 * 1024;

export const CompareDiffAnswer = z
  .object({
    repository: z.string(),
    /** The base compared against: the asked one, or the default branch. */
    base: z.string().min(1),
    /** null: the base or the head branch does not exist (yet). */
    diff: z.string().max(MAX_COMPARE_DIFF_CHARS).nullable(),
    /** The diff was cut at MAX_COMPARE_DIFF_CHARS. */
    truncated: z.boolean(),
    /** `.nightshift.yml` of the base branch as text (null without one): its protected paths mark risky lines as the runner protects them. */
    nightshiftYml: z
      .string()
      .max(256 * 1024)
      .nullable(),
  })
  .strict();
export type CompareDiffAnswer = z.infer<typeof CompareDiffAnswer>;
