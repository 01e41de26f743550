import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { BranchFactsPort } from '../../core/runs/branch-ownership';
import { BranchFactsAnswer } from './branch-facts-contract';

/** The branch facts function (lambdas/github/branch-facts.ts) as submit's BranchFactsPort: one synchronous call. */
export function lambdaBranchFacts(client: LambdaClient, functionName: string): BranchFactsPort {
  return async (repo, branch) => {
    const out = await client.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify({ kind: 'branchFacts', repo, branch })) }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) {
      const message = /"errorMessage"\s*:\s*"([^"]{0,300})/.exec(text)?.[1] ?? out.FunctionError;
      throw new Error(`the branch facts function failed: ${message}`);
    }
    const answer = BranchFactsAnswer.parse(JSON.parse(text));
    return {
      defaultBranch: answer.defaultBranch,
      exists: answer.branch.exists,
      answeredName: answer.branch.name,
      isProtected: answer.branch.protected,
      isOpenPullRequestHead: answer.openPullRequestHead,
    };
  };
}
