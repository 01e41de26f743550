import { join } from 'node:path';
import type { LocalDynamo } from './dynamo-server';
import type { LocalEgressProxy } from './egress-proxy';
import type { NightshiftHome } from './home';
import { localTopicArn } from './sns-topics';
import type { ExtractedStateMachine } from './state-machine';
import { functionNameOf, tokenBrokerName } from './template-functions';

/**
 * The environment local mode gives its handlers (in this process) and its runners (child processes):
 * the names they read on AWS, pointed at the loopback services. The handlers and the runner keep their
 * AWS code paths; their SDK clients reach loopback through AWS_ENDPOINT_URL_<SERVICE>.
 */

/** Dummy credentials: the loopback endpoints do not check signatures, the SDK only needs something to sign with. */
const dummyCredentials = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
export const localRegion = 'us-east-1';

/** The environment the handlers read at module load and the runners get: the same names as on AWS. */
export function serviceEnvironment(input: {
  dynamo: LocalDynamo;
  awsEndpointsUrl: string;
  configFile: string;
  home: NightshiftHome;
  githubApiUrl: string;
}): Record<string, string> {
  const { dynamo, awsEndpointsUrl } = input;
  return {
    AWS_REGION: localRegion,
    ...dummyCredentials,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SFN: awsEndpointsUrl,
    AWS_ENDPOINT_URL_LAMBDA: awsEndpointsUrl,
    AWS_ENDPOINT_URL_ECS: awsEndpointsUrl,
    AWS_ENDPOINT_URL_SNS: awsEndpointsUrl,
    RUNS_TABLE: dynamo.names.runs,
    EVENTS_TABLE: dynamo.names.events,
    CONTROL_TABLE: dynamo.names.control,
    IDEMPOTENCY_TABLE: dynamo.names.idempotency,
    INBOX_TABLE: dynamo.names.inbox,
    NIGHTSHIFT_CONFIG: input.configFile,
    NIGHTSHIFT_HOME: input.home.root,
    GITHUB_API_URL: input.githubApiUrl,
  };
}

/**
 * Sets this process's environment for the handlers it serves: the service environment and what each
 * function's environment holds on AWS. The config the handlers read comes from the file, never from an
 * inline copy left in the environment.
 */
export function exposeToHandlers(
  serviceEnv: Record<string, string>,
  input: { extracted: ExtractedStateMachine; template: unknown; home: NightshiftHome; handlerLogLevel: string },
): void {
  const { extracted, home } = input;
  Object.assign(process.env, serviceEnv, {
    STATE_MACHINE_ARN: extracted.stateMachineArn,
    // The GitHub webhook's own token broker (present when config github.webhookSecret is set).
    WEBHOOK_TOKEN_BROKER_FUNCTION: functionNameOf(extracted.lambdaEntries, 'lambdas/github/webhook-token-broker.ts') ?? '',
    // What submit asks about a branch to continue; the local forge answers the GitHub API it calls.
    BRANCH_FACTS_FUNCTION: functionNameOf(extracted.lambdaEntries, 'lambdas/github/branch-facts.ts') ?? '',
    // The inbox topic the Pause function publishes to (as its environment says on AWS).
    INBOX_TOPIC_ARN: localTopicArn(input.template, 'InboxNotifications') ?? '',
    // With the GitHub triggers, the events the status comments follow (the queue's moves, answers through the API), as on AWS.
    ...(functionNameOf(extracted.lambdaEntries, 'lambdas/github/webhook.ts')
      ? { STATUS_EVENTS_TOPIC_ARN: localTopicArn(input.template, 'InboxNotifications') ?? '' }
      : {}),
    CLUSTER_ARN: `arn:aws:ecs:${localRegion}:000000000000:cluster/nightshift-local`,
    NIGHTSHIFT_SECRETS_FILE: home.secretsFile,
    NIGHTSHIFT_GITHUB_MODE: 'forge',
    // Metrics go to CloudWatch through EMF on AWS; locally they would only be noise on stdout.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: input.handlerLogLevel,
  });
  delete process.env.NIGHTSHIFT_CONFIG_JSON;
}

/** Every runner's environment before its task's overrides (RUN_ID, TASK_TOKEN, RUN_KEY): what the runner task definition sets on AWS. */
export function runnerEnvironment(
  serviceEnv: Record<string, string>,
  input: {
    extracted: ExtractedStateMachine;
    home: NightshiftHome;
    model: string | undefined;
    recordDir: string | undefined;
    toolUser: string;
    egressProxy: LocalEgressProxy | undefined;
  },
): Record<string, string> {
  const { home, egressProxy } = input;
  return {
    ...serviceEnv,
    ...(input.model ? { NIGHTSHIFT_MODEL: input.model } : {}),
    ...(input.recordDir ? { NIGHTSHIFT_RECORD_DIR: input.recordDir } : {}),
    TOKEN_BROKER_FUNCTION: tokenBrokerName(input.extracted.lambdaEntries),
    NIGHTSHIFT_TRACE_DIR: join(home.root, 'traces'),
    NIGHTSHIFT_SETUP_CACHE_DIR: join(home.root, 'setup-cache'),
    NIGHTSHIFT_WORKDIR: home.work,
    NIGHTSHIFT_TOOL_USER: input.toolUser,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(egressProxy
      ? {
          NIGHTSHIFT_PROXY_URL: egressProxy.url,
          NIGHTSHIFT_PROXY_ACCESS_LOG: egressProxy.accessLog,
          NIGHTSHIFT_PROXY_PASSWORD: egressProxy.runnerPassword,
        }
      : {}),
  };
}
