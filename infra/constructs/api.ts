import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import type { BranchFacts } from './branch-facts';
import { nightshiftFunction } from './lambda-defaults';
import type { Orchestrator } from './orchestrator';
import type { State } from './state';

/** The run routes of the HTTP API (docs/api.md) and the handler module of each. */
export const runRoutes = [
  {
    id: 'SubmitRun',
    method: apigw.HttpMethod.POST,
    path: '/v1/runs',
    entry: 'lambdas/api/submit-run.ts',
    description: 'POST /v1/runs: submit a run',
  },
  {
    id: 'ListRuns',
    method: apigw.HttpMethod.GET,
    path: '/v1/runs',
    entry: 'lambdas/api/list-runs.ts',
    description: 'GET /v1/runs: list runs',
  },
  {
    id: 'GetRun',
    method: apigw.HttpMethod.GET,
    path: '/v1/runs/{runId}',
    entry: 'lambdas/api/get-run.ts',
    description: 'GET /v1/runs/{runId}: one run',
  },
  {
    id: 'CancelRun',
    method: apigw.HttpMethod.POST,
    path: '/v1/runs/{runId}/cancel',
    entry: 'lambdas/api/cancel-run.ts',
    description: 'POST /v1/runs/{runId}/cancel: cancel a run',
  },
  {
    id: 'GetRunEvents',
    method: apigw.HttpMethod.GET,
    path: '/v1/runs/{runId}/events',
    entry: 'lambdas/api/get-run-events.ts',
    description: 'GET /v1/runs/{runId}/events: the run timeline',
  },
  {
    id: 'GetRunDiff',
    method: apigw.HttpMethod.GET,
    path: '/v1/runs/{runId}/diff',
    entry: 'lambdas/api/get-run-diff.ts',
    description: "GET /v1/runs/{runId}/diff: the run branch's diff against its base, risky lines marked",
  },
] as const;

/** The inbox routes (docs/inbox.md): read and resolve the items of the caller's paused runs. */
export const inboxRoutes = [
  {
    id: 'ListInbox',
    method: apigw.HttpMethod.GET,
    path: '/v1/inbox',
    entry: 'lambdas/api/list-inbox.ts',
    description: 'GET /v1/inbox: the inbox items of the caller (all for an admin)',
  },
  {
    id: 'GetInboxItem',
    method: apigw.HttpMethod.GET,
    path: '/v1/inbox/{itemId}',
    entry: 'lambdas/api/get-inbox-item.ts',
    description: 'GET /v1/inbox/{itemId}: one inbox item',
  },
  {
    id: 'ResolveInboxItem',
    method: apigw.HttpMethod.POST,
    path: '/v1/inbox/{itemId}',
    entry: 'lambdas/api/resolve-inbox-item.ts',
    description: 'POST /v1/inbox/{itemId}: answer, approve, reject or dismiss an inbox item',
  },
] as const;

/** Steady requests per second and burst the stage accepts before answering 429. */
export const API_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;

export interface ApiProps {
  readonly config: NightshiftConfig;
  readonly state: State;
  readonly orchestrator: Orchestrator;
  /** Asked at submit about a `branch` to continue (invariant 7), and for a run branch's diff (GET /v1/runs/{runId}/diff). */
  readonly branchFacts: BranchFacts;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The HTTP API: IAM (SigV4) authorization on every route by default, a JWT authorizer when config
 * `auth.type` is `jwt`; stage throttling and JSON access logs.
 */
export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly functions: Record<(typeof runRoutes)[number]['id'], nodejs.NodejsFunction>;
  /** POST /v1/inbox/{itemId}: with the GitHub triggers, it announces what it resolved (InboxNotifications.grantStatusEvents). */
  readonly resolveInboxItemFunction: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { config, state, orchestrator, logRetention } = props;

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Nightshift API (v1)',
      createDefaultStage: false,
      defaultAuthorizer:
        config.auth.type === 'jwt'
          ? new authorizers.HttpJwtAuthorizer('Jwt', config.auth.issuer, { jwtAudience: config.auth.audience })
          : new authorizers.HttpIamAuthorizer(),
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new apigw.HttpStage(this, 'Stage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: API_THROTTLE,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            caller: '$context.identity.userArn',
            requestTime: '$context.requestTime',
            method: '$context.httpMethod',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const environment = { ...state.tableEnvironment, STATE_MACHINE_ARN: orchestrator.stateMachine.stateMachineArn };
    /** A route's function: the run and inbox routes differ only in what they are granted. */
    const routeFunction = (route: { id: string; entry: string; description: string }) =>
      nightshiftFunction(this, route.id, {
        entry: route.entry,
        description: route.description,
        config,
        logRetention,
        environment,
        timeout: Duration.seconds(15),
      });
    const functions: Partial<Record<(typeof runRoutes)[number]['id'], nodejs.NodejsFunction>> = {};
    for (const route of runRoutes) {
      const fn = routeFunction(route);
      if (route.method === apigw.HttpMethod.GET) state.grantRunStoreRead(fn);
      else state.grantRunStore(fn);
      // GET /v1/runs reads the list indexes' keys and the page's items by BatchGetItem (adapters/dynamodb/run-list.ts).
      if (route.id === 'ListRuns') state.grantRunList(fn);
      // A queued run's live position: a COUNT over the queue index (adapters/dynamodb/run-queue.ts).
      if (route.id === 'GetRun') state.grantQueuePositionRead(fn);
      this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method],
        integration: new integrations.HttpLambdaIntegration(`${route.id}Integration`, fn),
      });
      functions[route.id] = fn;
    }
    this.functions = functions as Record<(typeof runRoutes)[number]['id'], nodejs.NodejsFunction>;
    let resolveFunction: nodejs.NodejsFunction | undefined;
    for (const route of inboxRoutes) {
      const fn = routeFunction(route);
      if (route.method === apigw.HttpMethod.GET) {
        state.grantInboxRead(fn);
      } else {
        // Resolve the item, re-queue its run (runs UpdateItem, an event), complete the execution's token.
        state.grantInboxResolve(fn);
        state.grantRunStore(fn);
        orchestrator.stateMachine.grantTaskResponse(fn);
        resolveFunction = fn;
      }
      this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method],
        integration: new integrations.HttpLambdaIntegration(`${route.id}Integration`, fn),
      });
    }
    if (!resolveFunction) throw new Error('the inbox routes have no resolve route');
    this.resolveInboxItemFunction = resolveFunction;
    state.grantIdempotency(this.functions.SubmitRun);

    // The API's own description (lambdas/api/openapi.ts): built from the schemas, reads nothing, grants nothing.
    const openApi = nightshiftFunction(this, 'OpenApi', {
      entry: 'lambdas/api/get-openapi.ts',
      description: 'GET /v1/openapi.json: the OpenAPI 3.1 description of the API',
      config,
      logRetention,
      timeout: Duration.seconds(5),
    });
    this.httpApi.addRoutes({
      path: '/v1/openapi.json',
      methods: [apigw.HttpMethod.GET],
      integration: new integrations.HttpLambdaIntegration('OpenApiIntegration', openApi),
    });
    orchestrator.grantStartExecution(this.functions.SubmitRun);
    props.branchFacts.grantInvoke(this.functions.SubmitRun);
    // The deployed console's diffs: text from GitHub through the branch facts function, whose token stays there.
    props.branchFacts.grantInvoke(this.functions.GetRunDiff);
    orchestrator.grantStopExecution(this.functions.CancelRun);

    Validations.of(this.httpApi).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
      reason:
        "The routes' invoke permissions name apigateway.amazonaws.com with a SourceArn of this API's routes; the rule does not read SourceArn conditions.",
    });
  }

  /** The base URL of the API (`https://<id>.execute-api.<region>.amazonaws.com/`). */
  get url(): string {
    return this.stage.url;
  }
}
