import { LambdaClient } from '@aws-sdk/client-lambda';
import { requiredEnv } from '../../core/env';
import { maySeeRun } from '../../core/runs/access';
import { lambdaCompareDiff, type CompareDiffPort } from '../github/branch-facts-client';
import { lazyApiDeps, readApiDepsFromEnv, type ReadApiDeps } from './read-deps';
import { HttpError } from './http';
import { runIdFromPath, unknownRun } from './get-run';
import { apiRoute, type ApiHandler } from './route';
import type { RunDiffAnswer } from './answers';

export type RunDiffDeps = ReadApiDeps & { compareDiff: CompareDiffPort };

/**
 * `GET /v1/runs/{runId}/diff`: the run's branch against its base as diff text, with `.nightshift.yml`
 * of the base, for the deployed stack's console, which marks the risky lines (local mode's console
 * reads the forge itself). The caller must see the run (someone else's is a 404, as for
 * GET /v1/runs/{runId}) before anything is asked of GitHub; the text comes from the branch facts
 * function, whose read-only token never leaves it.
 */
export function getRunDiffHandler(getDeps: () => RunDiffDeps): ApiHandler {
  return apiRoute('get-run-diff', getDeps, async ({ event, deps, access }) => {
    const run = await deps.runs.get(runIdFromPath(event));
    if (!run || !maySeeRun(access, run)) throw unknownRun();
    if (!run.branch) throw new HttpError(404, 'no_branch', 'the run has no branch with changes yet');
    const compared = await deps.compareDiff(run.repo, run.baseBranch ?? null, run.branch);
    if (compared.diff === null) throw new HttpError(404, 'no_branch', `the run's branch ${run.branch} is not on GitHub (yet)`);
    const body: RunDiffAnswer = {
      runId: run.runId,
      repo: run.repo,
      base: compared.base,
      head: run.branch,
      diff: compared.diff,
      truncated: compared.truncated,
      nightshiftYml: compared.nightshiftYml,
    };
    return { statusCode: 200, body };
  });
}

function runDiffDepsFromEnv(): RunDiffDeps {
  return { ...readApiDepsFromEnv(), compareDiff: lambdaCompareDiff(new LambdaClient({}), requiredEnv('BRANCH_FACTS_FUNCTION')) };
}

export const handler = getRunDiffHandler(lazyApiDeps(runDiffDepsFromEnv));
