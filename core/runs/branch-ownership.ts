/**
 * Invariant 7: a run pushes only to its own branch. A run branch is a `nightshift/` branch, or the
 * head branch of an open pull request of the same repository (continuing that PR); never the default
 * branch, the base branch, a protected branch, or a ref that is an alias (symbolic ref) of another.
 * Names are compared case-insensitively, so `Main` counts as `main`: git refs on a case-insensitive
 * store collide, and a reviewer reads them as the same branch.
 */
export const RUN_BRANCH_PREFIX = 'nightshift/';

/** What GitHub (or the local forge) says about the branch a run is about to push, asked right before the push. */
export interface BranchFacts {
  /** The branch the run pushes (`refs/heads/<branch>` exactly). */
  branch: string;
  defaultBranch: string;
  baseBranch: string;
  /** GitHub's branch protection (`GET /repos/{o}/{r}/branches/{b}` → `protected`); false when the branch does not exist yet. */
  isProtected: boolean;
  /** The remote ref is a symbolic ref: pushing to it would move the branch it points at. */
  aliasOf: string | undefined;
  /** An open pull request of the same repository has this branch as its head. */
  isOpenPullRequestHead: boolean;
}

export const sameBranchName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Why the run must not push to this branch, or undefined when the branch is the run's own. */
export function branchPushRefusal(facts: BranchFacts): string | undefined {
  const { branch } = facts;
  if (branch.toLowerCase().startsWith('refs/') || sameBranchName(branch, 'HEAD')) return `"${branch}" is not a plain branch name`;
  if (sameBranchName(branch, facts.defaultBranch)) return `${branch} is the repository's default branch`;
  if (sameBranchName(branch, facts.baseBranch)) return `${branch} is the run's base branch`;
  if (facts.isProtected) return `${branch} is a protected branch`;
  if (facts.aliasOf !== undefined) return `${branch} is an alias of ${facts.aliasOf}`;
  if (!branch.toLowerCase().startsWith(RUN_BRANCH_PREFIX) && !facts.isOpenPullRequestHead) {
    return `${branch} is neither a ${RUN_BRANCH_PREFIX} branch nor the head branch of an open pull request of this repository`;
  }
  return undefined;
}

/** What GitHub says about a branch a submission names (`branch`, continue), asked before anything is written. */
export interface ContinueBranchFacts {
  defaultBranch: string;
  exists: boolean;
  /** The name GitHub answers for the branch; another branch's when the asked name is an alias of it. */
  answeredName: string | null;
  isProtected: boolean;
  isOpenPullRequestHead: boolean;
}

/** Asks GitHub (or the local forge) for the facts of `branch` in `repo`; throws when GitHub cannot answer. */
export type BranchFactsPort = (repo: string, branch: string) => Promise<ContinueBranchFacts>;

/**
 * Why a submission may not continue `branch`, or undefined: the same rule the runner applies before
 * each push, on the facts GitHub gives at submit (the base branch defaults to the default branch).
 */
export function continueBranchRefusal(
  request: { branch: string; baseBranch?: string | undefined },
  facts: ContinueBranchFacts,
): string | undefined {
  return branchPushRefusal({
    branch: request.branch,
    defaultBranch: facts.defaultBranch,
    baseBranch: request.baseBranch ?? facts.defaultBranch,
    isProtected: facts.isProtected,
    aliasOf: facts.answeredName !== null && facts.answeredName !== request.branch ? facts.answeredName : undefined,
    isOpenPullRequestHead: facts.isOpenPullRequestHead,
  });
}

/** What GitHub says about the pull request a review run names (`pr`), asked at submit before anything is written. */
export interface ReviewPullFacts {
  state: 'open' | 'closed';
  headRef: string;
  /** `owner/name` of the head repository; null when the fork was deleted. */
  headRepo: string | null;
}

/** Asks GitHub (or the local forge) about pull request `number` of `repo`: undefined when there is none; throws when GitHub cannot answer. */
export type PullFactsPort = (repo: string, number: number) => Promise<ReviewPullFacts | undefined>;

/**
 * Why a review run may not review pull request `number`, or undefined: it must exist, be open, and
 * come from a branch of the same repository (never a fork, whose code Nightshift does not run).
 */
export function reviewPullRefusal(repo: string, number: number, facts: ReviewPullFacts | undefined): string | undefined {
  if (!facts) return `${repo} has no pull request #${number}`;
  if (facts.state !== 'open') return `pull request #${number} is closed`;
  if (facts.headRepo === null || facts.headRepo.toLowerCase() !== repo.toLowerCase())
    return `pull request #${number} comes from the fork ${facts.headRepo ?? '(deleted)'}: Nightshift reviews only pull requests whose branch is in ${repo}`;
  return undefined;
}
