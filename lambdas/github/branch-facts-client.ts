import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { BranchFactsPort, PullFactsPort } from '../../core/runs/branch-ownership';
import { BranchFactsAnswer, CompareDiffAnswer, PullFactsAnswer } from './branch-facts-contract';

/** The branch facts function (lambdas/github/branch-facts.ts) as submit's BranchFactsPort: one synchronous call. */
export function lambdaBranchFacts(client: LambdaClient, functionName: string): BranchFactsPort {
  return async (repo, branch) => {
    const answer = BranchFactsAnswer.parse(await invoke(client, functionName, { kind: 'branchFacts', repo, branch }));
    return {
      defaultBranch: answer.defaultBranch,
      exists: answer.branch.exists,
      answeredName: answer.branch.name,
      isProtected: answer.branch.protected,
      isOpenPullRequestHead: answer.openPullRequestHead,
    };
  };
}

/** The same function as submit's PullFactsPort (a review run's `pr`). */
export function lambdaPullFacts(client: LambdaClient, functionName: string): PullFactsPort {
  return async (repo, pull) =>
    PullFactsAnswer.parse(await invoke(client, functionName, { kind: 'pullFacts', repo, pull })).pull ?? undefined;
}

/** A run branch's diff against its base, as the branch facts function reads it from GitHub (GET /v1/runs/{runId}/diff). */
export type CompareDiffPort = (repo: string, base: string | null, head: string) => Promise<CompareDiffAnswer>;

export function lambdaCompareDiff(client: LambdaClient, functionName: string): CompareDiffPort {
  return async (repo, base, head) =>
    CompareDiffAnswer.parse(await invoke(client, functionName, { kind: 'compareDiff', repo, ...(base ? { base } : {}), head }));
}

async function invoke(client: LambdaClient, functionName: string, request: Record<string, unknown>): Promise<unknown> {
  const out = await client.send(
    new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(request)) }),
  );
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  if (out.FunctionError) {
    const message = /"errorMessage"\s*:\s*"([^"]{0,300})/.exec(text)?.[1] ?? out.FunctionError;
    throw new Error(`the branch facts function failed: ${message}`);
  }
  return JSON.parse(text);
}
