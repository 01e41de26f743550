import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { bodyKey, deliveryKey } from '../../adapters/dynamodb/webhook-deliveries';
import type { BranchFacts } from './branch-facts';
import { nightshiftFunction } from './lambda-defaults';
import { acknowledgeGuard } from './nag';
import { callsGithubApi } from '../validation';
import type { Orchestrator } from './orchestrator';
import type { State } from './state';
import { secretArn } from './secret-arn';

export interface GithubWebhookProps {
  readonly config: NightshiftConfig;
  readonly httpApi: apigw.HttpApi;
  readonly state: State;
  readonly orchestrator: Orchestrator;
  /** Asked before a run continues a pull request's branch. */
  readonly branchFacts: BranchFacts;
  readonly logRetention: logs.RetentionDays;
  /** Config `github.webhookSecret`: the Secrets Manager name only this construct's webhook function reads. */
  readonly webhookSecretName: string;
}

export const WEBHOOK_ROUTE_PATH = '/v1/webhooks/github';

/**
 * The GitHub loop's entry (docs/github-app.md): `POST /v1/webhooks/github` with no authorizer (the signature is
 * the authentication, checked by the function before anything else), its own function, and a token
 * broker of its own that mints narrow tokens for it (issues write, pull requests read; checks write for
 * the run-end report) from the App key.
 * The webhook function is the only reader of the webhook secret and holds no App key.
 */
export class GithubWebhook extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly tokenBroker: nodejs.NodejsFunction;
  /** Execution ends of the run state machine → the webhook function: each GitHub run's result comment and check run. */
  readonly runEndedRule: events.Rule;

  constructor(scope: Construct, id: string, props: GithubWebhookProps) {
    super(scope, id);
    const { config, state, orchestrator, logRetention } = props;
    const stack = Stack.of(this);

    this.tokenBroker = nightshiftFunction(this, 'TokenBroker', {
      entry: 'lambdas/github/webhook-token-broker.ts',
      description: 'Mints issue-comment tokens for one allowlisted repository, for the GitHub webhook only',
      config,
      logRetention,
      timeout: Duration.seconds(8),
    });
    const brokerSecrets = [config.github.privateKeySecret, config.github.tokenSecret].filter((n): n is string => n !== undefined);
    this.tokenBroker.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: brokerSecrets.map((n) => secretArn(stack, n)) }),
    );
    callsGithubApi(this.tokenBroker, 'installation tokens for the webhook function');

    this.function = nightshiftFunction(this, 'Function', {
      entry: 'lambdas/github/webhook.ts',
      description: 'POST /v1/webhooks/github: verifies, deduplicates and acts on GitHub deliveries',
      config,
      logRetention,
      environment: {
        ...state.tableEnvironment,
        STATE_MACHINE_ARN: orchestrator.stateMachine.stateMachineArn,
        WEBHOOK_TOKEN_BROKER_FUNCTION: this.tokenBroker.functionName,
      },
      // GitHub waits 10 s for an answer; the run itself starts asynchronously (StartExecution).
      timeout: Duration.seconds(9),
    });
    const fn = this.function;
    callsGithubApi(fn, "the sender's permission, issue and pull request threads, comments, reactions and check runs");
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn(stack, props.webhookSecretName)] }),
    );
    // Submit and cancel runs (runs, events, ledger, slots, threads), as the API's submit and cancel do.
    state.grantRunStore(fn);
    orchestrator.grantStartExecution(fn);
    orchestrator.grantStopExecution(fn);
    // `/nightshift answer|approve|reject`: resolve the item and complete the token its run's execution waits on,
    // as POST /v1/inbox/{itemId} does; and read the new items the inbox topic announces, to post them.
    state.grantInboxAnswer(fn);
    orchestrator.stateMachine.grantTaskResponse(fn);
    // pull_request.closed closes the pr_ready items of the pull request's runs.
    state.grantInboxClose(fn);
    // Delivery markers only, in the idempotency table: claim (conditional put) and give back.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [state.idempotency.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [deliveryKey('*'), bodyKey('*')] } },
      }),
    );
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['lambda:InvokeFunction'], resourceArns: [this.tokenBroker.functionArn] });
    props.branchFacts.grantInvoke(fn);

    // The end of every run's execution (however it ended) reaches the same function, which edits the
    // run's status comment and writes the check run with a token of its own broker (core/github/run-status-report.ts).
    this.runEndedRule = new events.Rule(this, 'RunEndedRule', {
      description: 'Reports the end of runs started from GitHub on their issue or pull request (status comment, check run)',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [orchestrator.stateMachine.stateMachineArn] },
      },
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 4, maxEventAge: Duration.hours(2) })],
    });

    const [route] = props.httpApi.addRoutes({
      path: WEBHOOK_ROUTE_PATH,
      methods: [apigw.HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('GithubWebhookIntegration', fn),
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    const noAuthorizerReason =
      'GitHub cannot sign requests with SigV4 or present a JWT: the webhook authenticates by its X-Hub-Signature-256 HMAC, verified over the raw body in constant time before anything is parsed (lambdas/github/webhook.ts).';
    Validations.of(route!).acknowledge({ id: 'AwsSolutions-APIG4', reason: noAuthorizerReason });
    acknowledgeGuard(route!, { rule: 'api_gw_v2_authorization_type_configured_check', reason: noAuthorizerReason });
  }
}
