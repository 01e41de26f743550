import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { BranchFactsPort, PullFactsPort } from '../../core/runs/branch-ownership';
import { BranchFactsAnswer, PullFactsAnswer } from './branch-facts-contract';

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
  return async (repo, pull) => PullFactsAnswer.parse(await invoke(client, functionName, { kind: 'pullFacts', repo, pull })).pull ?? undefined;
}

async function invoke(client: LambdaClient, functionName: string, request: Record<string, unknown>): Promise<unknown> {
  const out = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(request)) }));
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  if (out.FunctionError) {
    const message = /"errorMessage"\s*:\s*"([^"]{0,300})/.exec(text)?.[1] ?? out.FunctionError;
    throw new Error(`the branch facts function failed: ${message}`);
  }
  return JSON.parse(text);
}
