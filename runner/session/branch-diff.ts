import { truncateText } from '../../core/github/untrusted-text';
import type { WorkspaceGit } from '../git/workspace-git';

/**
 * What a continued branch already changed against its base, for the task message (orientation).
 * The clone is one commit deep, so the base branch's tip is fetched shallowly and both histories are
 * deepened in bounded steps until they meet; the diff is taken from that merge base, so commits that
 * landed on the base after the branch forked are not shown as the branch's changes.
 */
export const BASE_REF = 'refs/nightshift/base';
/** Commits fetched below each shallow boundary per step; at most their sum (plus one) in all. */
export const DEEPEN_STEPS = [16, 64, 256] as const;
/** The whole diff section is cut to this many characters (the stat first, so every file is named). */
export const MAX_BRANCH_DIFF_CHARS = 12_000;
const COMMITS_LISTED = 20;

export interface BranchDiff {
  base: string;
  text: string;
}

export async function continuedBranchDiff(git: WorkspaceGit, branch: string, baseBranch: string): Promise<BranchDiff> {
  const head = (await git.run(['rev-parse', 'HEAD'])).trim();
  await git.fetchShallow([{ branch: baseBranch, ref: BASE_REF }], { depth: 1 });
  let mergeBase = await git.mergeBase(head, BASE_REF);
  for (const deepen of DEEPEN_STEPS) {
    if (mergeBase) break;
    await git.fetchShallow(
      [
        { branch: baseBranch, ref: BASE_REF },
        { branch, ref: `refs/remotes/origin/${branch}` },
      ],
      { deepen },
    );
    mergeBase = await git.mergeBase(head, BASE_REF);
  }
  if (!mergeBase) {
    const searched = 1 + DEEPEN_STEPS.reduce((a, b) => a + b, 0);
    return {
      base: baseBranch,
      text: `(no common ancestor with ${baseBranch} within ${searched} commits of either tip: the branch's changes cannot be shown)`,
    };
  }
  const short = mergeBase.slice(0, 12);
  if (mergeBase === head)
    return { base: `${baseBranch} (merge base ${short})`, text: `(no changes: the branch is at ${short}, which is on ${baseBranch})` };
  const commits = (await git.run(['log', '--no-decorate', '--format=%h %s', `-${COMMITS_LISTED + 1}`, `${mergeBase}..${head}`]))
    .trim()
    .split('\n');
  const listed = commits.slice(0, COMMITS_LISTED).join('\n') + (commits.length > COMMITS_LISTED ? '\n… more commits' : '');
  const stat = (await git.run(['diff', '--no-color', '--no-ext-diff', '--no-textconv', '--stat=120', mergeBase, head])).trimEnd();
  const patch = (await git.run(['diff', '--no-color', '--no-ext-diff', '--no-textconv', mergeBase, head])).trimEnd();
  const text = `Commits:\n${listed}\n\nDiff stat:\n${stat}\n\n${patch}`;
  return {
    base: `${baseBranch} (merge base ${short})`,
    text:
      text.length <= MAX_BRANCH_DIFF_CHARS
        ? text
        : `${truncateText(text, MAX_BRANCH_DIFF_CHARS)}\n[the rest of the diff is not shown; read the files named in the stat above]`,
  };
}
