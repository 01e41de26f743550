import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { secretArn } from './secret-arn';
import { nightshiftFunction } from './lambda-defaults';
import { callsGithubApi } from '../validation';

export interface BranchFactsProps {
  readonly config: NightshiftConfig;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The branch facts function (lambdas/github/branch-facts.ts): asks GitHub about a branch a submission
 * wants to continue (default branch, protection, alias, open same-repo pull request) with a read-only
 * token it mints for itself and never returns. Submitters are granted this function, never a broker:
 * they learn facts about a branch and get no way to GitHub. It reads the App key (or the PAT), no table.
 */
export class BranchFacts extends Construct {
  readonly function: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: BranchFactsProps) {
    super(scope, id);
    const { config } = props;
    this.function = nightshiftFunction(this, 'Function', {
      entry: 'lambdas/github/branch-facts.ts',
      description: 'Answers facts about one branch of an allowlisted repository (never a token), for submit',
      config,
      logRetention: props.logRetention,
      timeout: Duration.seconds(8),
    });
    callsGithubApi(this.function, 'a read-only installation token, then the branch, its protection and open pull requests');
    const secrets = [config.github.privateKeySecret, config.github.tokenSecret].filter((n): n is string => n !== undefined);
    if (secrets.length > 0)
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: secrets.map((n) => secretArn(Stack.of(this), n)),
        }),
      );
  }

  get functionName(): string {
    return this.function.functionName;
  }

  /** Invoke of this function alone (its ARN, no versions or aliases), and where to find it. */
  grantInvoke(fn: nodejs.NodejsFunction): void {
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['lambda:InvokeFunction'], resourceArns: [this.function.functionArn] });
    fn.addEnvironment('BRANCH_FACTS_FUNCTION', this.function.functionName);
  }
}
