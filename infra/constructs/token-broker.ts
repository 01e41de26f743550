import { ArnFormat, Stack } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { nightshiftFunction } from './lambda-defaults';
import { acknowledgeOnPrincipal, nagArnOf } from './nag';
import { callsGithubApi } from '../validation';
import { CHECKPOINT_OBJECTS, type State } from './state';

export interface TokenBrokerProps {
  readonly config: NightshiftConfig;
  readonly state: State;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The token broker (lambdas/token-broker.ts): the only holder of the GitHub App key (or the PAT
 * fallback), the only reader of repo secrets, and the runner's only way to its run's data. Every
 * request carries the run key Admit issued to the task launched for that run; the broker checks it
 * first, then mints a token for that run's repository, returns that repository's named secrets, or
 * reads and writes that one run's item, events, ledger entries, trace and pause checkpoints. Nothing may invoke it but
 * what `grantInvoke` names: the runner task role.
 */
export class TokenBroker extends Construct {
  readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: TokenBrokerProps) {
    super(scope, id);
    const { config, state } = props;
    const fn = nightshiftFunction(this, 'Function', {
      entry: 'lambdas/token-broker.ts',
      description: "The runner's broker: run-key checked GitHub tokens, repo secrets and run data for one run",
      config,
      logRetention: props.logRetention,
      environment: { ...state.tableEnvironment, TRACES_BUCKET: state.traces.bucketName },
    });
    this.function = fn;
    callsGithubApi(fn, 'installation tokens for the run repository');
    // What the runner did with its own grants before, now for the one run whose key it presents.
    state.grantRunnerStore(fn);
    state.grantTraceWrite(fn);
    acknowledgeOnPrincipal(fn, {
      id: `AwsSolutions-IAM5[Resource::${nagArnOf(state.traces)}/runs/*]`,
      reason:
        'Trace and checkpoint objects are keyed by run ids created at run time; the broker presigns a PUT only for a key of the run whose run key it checked.',
    });
    state.grantCheckpointRead(fn);
    acknowledgeOnPrincipal(fn, {
      id: `AwsSolutions-IAM5[Resource::${nagArnOf(state.traces)}/${CHECKPOINT_OBJECTS}]`,
      reason:
        'Checkpoint keys hold the run id and the pause id, known only at run time; the broker presigns a GET only for the answered pause named by the record of the run whose key it checked. Traces stay unreadable to it.',
    });
    state.grantSetupCache(fn);
    acknowledgeOnPrincipal(fn, {
      id: `AwsSolutions-IAM5[Resource::${nagArnOf(state.traces)}/setup-cache/*]`,
      reason:
        "Setup-cache entries are keyed by repository and a content hash known only at run time; the broker presigns a GET or a no-overwrite PUT only under the prefix of the checked run's own repository.",
    });

    const github = config.github;
    // The App key (or PAT), the model provider's API key, and every repo's named secrets: the broker hands each run only its own repo's.
    const repoSecretNames = config.repos.flatMap((r) => Object.values(r.secrets ?? {}));
    const secretNames = [
      ...new Set(
        [github.privateKeySecret, github.tokenSecret, config.model.apiKeySecret, ...repoSecretNames].filter(
          (n): n is string => n !== undefined,
        ),
      ),
    ];
    if (secretNames.length > 0) {
      const stack = Stack.of(this);
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          // Secrets Manager appends a random six-character suffix to every secret ARN.
          resources: secretNames.map((name) =>
            stack.formatArn({
              service: 'secretsmanager',
              resource: 'secret',
              resourceName: `${name}-??????`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ),
        }),
      );
    }
  }

  /** The runner task role, and nothing else, calls the broker. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    // The unqualified function only (no `:*` versions or aliases): there is one broker.
    return iam.Grant.addToPrincipal({ grantee, actions: ['lambda:InvokeFunction'], resourceArns: [this.function.functionArn] });
  }

  /** The runner's way to the broker, in one call: invoke on its task role and the function's name in its container. */
  serveRunner(runtime: { readonly taskRole: iam.IGrantable; readonly container: ecs.ContainerDefinition }): void {
    this.grantInvoke(runtime.taskRole);
    runtime.container.addEnvironment('TOKEN_BROKER_FUNCTION', this.function.functionName);
  }

  get functionName(): string {
    return this.function.functionName;
  }
}
