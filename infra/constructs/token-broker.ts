import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { nightshiftFunction } from './lambda-defaults';
import type { State } from './state';

export interface TokenBrokerProps {
  readonly config: NightshiftConfig;
  readonly state: State;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The GitHub token broker (lambdas/token-broker.ts): the only holder of the GitHub App key (or the
 * PAT fallback) and the only reader of repo secrets. It reads the run to check that it is RUNNING and
 * mints a token for that run's repository, or returns that repository's named secrets. Nothing may
 * invoke it but what `grantInvoke` names: the runner task role.
 */
export class TokenBroker extends Construct {
  readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: TokenBrokerProps) {
    super(scope, id);
    const { config, state } = props;
    const fn = nightshiftFunction(this, 'Function', {
      entry: 'lambdas/token-broker.ts',
      description: 'Mints a GitHub token scoped to one RUNNING run and its repository',
      config,
      logRetention: props.logRetention,
      environment: state.tableEnvironment,
    });
    this.function = fn;
    // It only reads the run it is asked about (GetItem).
    state.grantRunRead(fn);

    const github = config.github;
    // The App key (or PAT), the model provider's API key, and every repo's named secrets: the broker hands each run only its own repo's.
    const repoSecretNames = config.repos.flatMap((r) => Object.values(r.secrets ?? {}));
    const secretNames = [...new Set([github.privateKeySecret, github.tokenSecret, config.model.apiKeySecret, ...repoSecretNames].filter((n): n is string => n !== undefined))];
    if (secretNames.length > 0) {
      const stack = Stack.of(this);
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          // Secrets Manager appends a random six-character suffix to every secret ARN.
          resources: secretNames.map((name) => stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${name}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
        }),
      );
    }
  }

  /** The runner task role, and nothing else, calls the broker. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    // The unqualified function only (no `:*` versions or aliases): there is one broker.
    return iam.Grant.addToPrincipal({ grantee, actions: ['lambda:InvokeFunction'], resourceArns: [this.function.functionArn] });
  }

  get functionName(): string {
    return this.function.functionName;
  }
}
