import { classifyDiff } from '../../core/console/risky-diff';
import { DEFAULT_PROTECTED_PATHS, ProtectedPaths } from '../../runner/tools/protected-paths';
import type { RunDiff } from '../contract';

/**
 * A run branch's diff against its base, risky lines marked (core/console/risky-diff.ts), the same way
 * wherever the text comes from: local mode's forge (local/console-server.ts) or GitHub's compare diff
 * for a deployed stack (lambdas/api/get-run-diff.ts). `protectedPaths` are the base branch's
 * `.nightshift.yml` ones (console/server/nightshift-yml-paths.ts); the runner's defaults always apply.
 */
export function classifiedRunDiff(input: {
  repo: string;
  base: string;
  head: string;
  diffText: string;
  protectedPaths: readonly string[];
  cut?: boolean;
}): RunDiff {
  const protectedPaths = new ProtectedPaths([...DEFAULT_PROTECTED_PATHS, ...input.protectedPaths]);
  const diff = classifyDiff(input.diffText, { protectedMatch: (path) => protectedPaths.match(path) });
  return { repo: input.repo, base: input.base, head: input.head, diff: input.cut ? { ...diff, truncated: true } : diff };
}
