import { createLogger } from '../../core/observability/logger';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { runtimeConfig } from '../../core/config/runtime';
import { optionalEnv, requiredEnv } from '../../core/env';
import { PermissionCache } from '../../core/github/webhook-intake';
import { receiveWebhook, WEBHOOK_MAX_BODY_BYTES, type WebhookReceiverDeps } from '../../core/github/webhook-receiver';
import { WebhookSecret } from '../../core/github/webhook-signature';
import {
  isExecutionStatusChange,
  reportRunEnded,
  reportRunProgress,
  RunNotEndedError,
  type RunProgressReport,
  type RunStatusReport,
  type RunStatusReportDeps,
  type StatusCommentDeps,
} from '../../core/github/run-status-report';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import { cancelRun } from '../../core/runs/cancel';
import { resolveInboxItem, type AnswerDeps } from '../../core/runs/answer';
import { isSnsDelivery, postInboxItem, topicMessagesOf, type PostItemDeps, type PostItemOutcome } from '../../core/github/inbox-on-thread';
import { reportQueueMoved, type QueueCommentDeps } from '../../core/github/queue-comments';
import { submitRun } from '../../core/runs/submit';
import { createDynamoClient, documentClientFor, tableNamesFromEnv } from '../../adapters/dynamodb/client';
import { createBudgetLedger } from '../../adapters/dynamodb/budget-ledger';
import { createConcurrencySlots } from '../../adapters/dynamodb/concurrency-slots';
import { createInboxStore } from '../../adapters/dynamodb/inbox-store';
import { createIntakeFlag } from '../../adapters/dynamodb/intake-flag';
import { createRunEventLog } from '../../adapters/dynamodb/run-event-log';
import { createRunQueue } from '../../adapters/dynamodb/run-queue';
import { createRunRepository } from '../../adapters/dynamodb/run-repository';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { createWebhookDeliveries } from '../../adapters/dynamodb/webhook-deliveries';
import { header, type ApiEvent, type ApiResult } from '../api/http';
import { stepFunctionsExecutions } from '../api/step-functions';
import { localSecretsFileSource, secretsManagerSource } from '../secret-sources';
import { lambdaBranchFacts, lambdaPullFacts } from './branch-facts-client';
import { octokitRepoClient } from './github-repo-client';
import { octokitCiClient } from './github-ci-client';
import { createAutofixAttempts } from '../../adapters/dynamodb/autofix-attempts';
import { requestWebhookToken } from './webhook-token-client';

/**
 * `POST /v1/webhooks/github`: no IAM or JWT authorizer on this route; the signature is the
 * authentication (core/github/webhook-receiver.ts). The only function that can read the webhook secret.
 */
const logger = createLogger({ serviceName: 'nightshift-github-webhook' });

/**
 * The function's three jobs: GitHub's deliveries (the route), the end of GitHub runs (the EventBridge
 * rule), and the inbox topic's messages for GitHub runs (its subscription): new items, posted on their
 * thread; items resolved through the API, and queue moves, which edit the status comments.
 */
export interface WebhookFunctionDeps {
  webhook: WebhookReceiverDeps;
  runStatus: RunStatusReportDeps;
  inboxTopic: InboxTopicDeps;
}

/** What the inbox topic's messages need: the item posts, and the queue for its moves. */
export type InboxTopicDeps = PostItemDeps & Pick<QueueCommentDeps, 'queue'>;

export function webhookDepsFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookFunctionDeps {
  const config = runtimeConfig();
  const secretName = config.github.webhookSecret;
  if (!secretName) throw new Error('config github.webhookSecret is not set: the webhook route cannot verify deliveries');
  const secretsFile = optionalEnv('NIGHTSHIFT_SECRETS_FILE', env);
  const secrets = secretsFile ? localSecretsFileSource(secretsFile) : secretsManagerSource(new SecretsManagerClient({}));
  const dynamo = createDynamoClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env) });
  const doc = documentClientFor(dynamo);
  const names = tableNamesFromEnv(env);
  // Only the stores a submission, a cancel, an answer and the status comments use (not the whole core/store).
  const store = {
    runs: createRunRepository(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    ledger: createBudgetLedger(doc, { runs: names.runs, control: names.control }),
    slots: createConcurrencySlots(doc, names.control),
    intake: createIntakeFlag(doc, names.control),
    inbox: createInboxStore(doc, names.inbox),
    queue: createRunQueue(doc, names.control),
  };
  const threads = createThreadStore(doc, names.control);
  const executions = stepFunctionsExecutions(new SFNClient({}), requiredEnv('STATE_MACHINE_ARN', env));
  const lambda = new LambdaClient({});
  const brokerName = requiredEnv('WEBHOOK_TOKEN_BROKER_FUNCTION', env);
  const apiUrl = optionalEnv('GITHUB_API_URL', env) ?? config.github.apiUrl;
  const submitDeps = {
    config,
    ...store,
    threads,
    startExecution: executions.startExecution,
    stopExecution: executions.stopExecution,
    stopRunTasks: (runId: string) => executions.stopExecution(runId, 'run finalized by the GitHub webhook'),
    metrics: createLambdaMetricsSink(),
    branchFacts: lambdaBranchFacts(lambda, requiredEnv('BRANCH_FACTS_FUNCTION', env)),
    pullFacts: lambdaPullFacts(lambda, requiredEnv('BRANCH_FACTS_FUNCTION', env)),
  };
  const repoClient = async (repo: string, checks: boolean) => {
    const token = await requestWebhookToken(lambda, brokerName, { kind: 'webhookToken', repo, ...(checks ? { checks } : {}) });
    // Check runs need a GitHub App (or the local forge): with the PAT fallback they are skipped (docs/github-app.md).
    return octokitRepoClient({ baseUrl: apiUrl, token: token.token, repo, canWriteChecks: checks && token.mode !== 'pat' });
  };
  // `/nightshift answer|approve|reject` resolves through the API's own code: resolve the item, re-queue the run, complete its token.
  const answerDeps: AnswerDeps = {
    inbox: store.inbox,
    runs: store.runs,
    events: store.events,
    sendTaskSuccess: executions.sendTaskSuccess,
    sendTaskFailure: executions.sendTaskFailure,
    config,
    ledger: store.ledger,
    threads,
  };
  const webhook: WebhookReceiverDeps = {
    config,
    secret: new WebhookSecret({ read: () => secrets(secretName) }),
    deliveries: createWebhookDeliveries(doc, names.idempotency),
    runs: store.runs,
    queue: store.queue,
    threads,
    permissions: new PermissionCache(),
    metrics: submitDeps.metrics,
    github: (repo) => repoClient(repo, false),
    submit: (input) => submitRun(submitDeps, input),
    cancel: async (runId, requester) => {
      // The sender's write access on the repository, asked of GitHub, is what lets it stop a thread's runs.
      await cancelRun(submitDeps, { runId, requester, access: { caller: { requester, groups: [] }, admin: true } });
    },
    inbox: store.inbox,
    resolveItem: async (input) => {
      const item = await resolveInboxItem(answerDeps, input);
      // Resolved on GitHub: the run's status comment leaves "waiting" for "queued to go on" at once.
      await reportProgressOnGithub({ runs: store.runs, github: (repo) => repoClient(repo, false) }, item.runId);
      return item;
    },
    warn: (message, fields) => logger.warn(message, fields),
    // CI auto-fix: attempts on the control table (autofix#owner/name#N), CI reads with a token that also reads checks and Actions.
    autofix: {
      attempts: createAutofixAttempts(doc, names.control),
      events: store.events,
      ci: async (repo) => {
        const token = await requestWebhookToken(lambda, brokerName, { kind: 'webhookToken', repo, ci: true });
        return octokitCiClient({ baseUrl: apiUrl, token: token.token, repo });
      },
    },
  };
  return {
    webhook,
    runStatus: { runs: store.runs, events: store.events, github: (repo) => repoClient(repo, true) },
    inboxTopic: {
      runs: store.runs,
      inbox: store.inbox,
      queue: store.queue,
      threads,
      github: (repo) => repoClient(repo, false),
      commentCommand: config.github.commentCommand,
    },
  };
}

function rawBody(event: ApiEvent): Buffer | 'too_large' {
  const raw = event.body ?? '';
  // Refuse on the encoded size before decoding a huge string.
  if (raw.length > (event.isBase64Encoded ? Math.ceil(WEBHOOK_MAX_BODY_BYTES / 3) * 4 + 4 : WEBHOOK_MAX_BODY_BYTES * 4)) return 'too_large';
  return event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
}

/** How often, and how far apart, the end of an aborted run is looked for before the invocation fails (EventBridge retries it). */
const NOT_ENDED_ATTEMPTS = 5;
const NOT_ENDED_DELAY_MS = 1_000;

/**
 * The end of a run's execution (EventBridge, the function's second trigger): its status comment and
 * check run on GitHub. Throws on failure so the rule's retries act.
 */
export async function runStatusHandler(deps: RunStatusReportDeps, event: unknown): Promise<RunStatusReport> {
  for (let attempt = 1; ; attempt++) {
    try {
      const report = await reportRunEnded(deps, event);
      logger.info('run status reported on GitHub', { ...report });
      return report;
    } catch (err) {
      // An aborted execution's backstop finalizes the run at about the same time as this runs.
      if (!(err instanceof RunNotEndedError) || attempt >= NOT_ENDED_ATTEMPTS) {
        logger.error('could not report the run status on GitHub', { error: err as Error });
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, NOT_ENDED_DELAY_MS));
    }
  }
}

/**
 * A GitHub run's status comment between its start and its end (core/github/run-status-report.ts).
 * A courtesy, like the runner's running edits: a failure is logged and fails nothing, since what
 * caused it (the question posted, the answer taken) has happened and must not be redone by a retry.
 */
export async function reportProgressOnGithub(deps: StatusCommentDeps, runId: string): Promise<RunProgressReport | undefined> {
  try {
    const report = await reportRunProgress(deps, runId);
    logger.info('run progress on GitHub', { ...report });
    return report;
  } catch (err) {
    logger.warn('could not edit the status comment', { runId, error: err as Error });
    return undefined;
  }
}

/** What one message of the inbox topic came to. */
export type InboxTopicOutcome =
  | PostItemOutcome
  | { action: 'progress'; itemId: string; report: RunProgressReport | undefined }
  | { action: 'queue_comments'; edited: string[] };

/**
 * The inbox topic's messages for GitHub runs: a new item is posted on its thread and the run's status
 * comment then says it waits for it; an item resolved through the API moves that comment on; a queue
 * move edits the queued comments whose place changed (core/github/queue-comments.ts). Throws so the
 * asynchronous invocation is retried.
 */
export async function inboxTopicHandler(deps: InboxTopicDeps, event: unknown): Promise<InboxTopicOutcome[]> {
  const outcomes: InboxTopicOutcome[] = [];
  for (const message of topicMessagesOf(event)) {
    if (message.event === 'queue_moved') {
      const { edited } = await reportQueueMoved(deps);
      logger.info('queued status comments edited', { edited });
      outcomes.push({ action: 'queue_comments', edited });
      continue;
    }
    if (message.event === 'item_created') {
      const outcome = await postInboxItem(deps, message.itemId);
      logger.info('inbox item on GitHub', { ...outcome });
      outcomes.push(outcome);
    }
    const item = await deps.inbox.get(message.itemId);
    const report = item ? await reportProgressOnGithub(deps, item.runId) : undefined;
    if (message.event === 'item_resolved') outcomes.push({ action: 'progress', itemId: message.itemId, report });
  }
  return outcomes;
}

export function webhookHandler(getDeps: () => WebhookReceiverDeps) {
  return async (event: ApiEvent, context?: Context): Promise<ApiResult> => {
    const requestId =
      event.requestContext.requestId && /^[A-Za-z0-9=_-]{1,128}$/.test(event.requestContext.requestId)
        ? event.requestContext.requestId
        : randomUUID();
    const log = logger.createChild({ persistentKeys: { requestId, route: 'github-webhook' } });
    if (context) log.addContext(context);
    let statusCode: number;
    let body: Record<string, unknown>;
    try {
      const raw = rawBody(event);
      const answer =
        raw === 'too_large'
          ? {
              statusCode: 413,
              body: { error: { code: 'body_too_large', message: `the body exceeds ${WEBHOOK_MAX_BODY_BYTES} bytes` } },
              log: { code: 'body_too_large' },
            }
          : await receiveWebhook(getDeps(), { header: (name) => header(event, name), body: raw });
      ({ statusCode, body } = answer);
      if ('runId' in answer.log && typeof answer.log.runId === 'string') log.appendKeys({ runId: answer.log.runId });
      log.info('webhook answered', { statusCode, ...answer.log });
    } catch (err) {
      log.error('webhook failed', { error: err as Error });
      statusCode = 500;
      body = { error: { code: 'internal_error', message: 'internal error; GitHub may redeliver this delivery' } };
    }
    return {
      statusCode,
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId, 'cache-control': 'no-store' },
      body: JSON.stringify(body),
    };
  };
}

let deps: WebhookFunctionDeps | undefined;
const functionDeps = () => (deps ??= webhookDepsFromEnv());
const onDelivery = webhookHandler(() => functionDeps().webhook);

/** API Gateway deliveries from GitHub, EventBridge execution status changes of runs, or the inbox topic's new items. */
export async function handler(
  event: ApiEvent | Record<string, unknown>,
  context?: Context,
): Promise<ApiResult | RunStatusReport | InboxTopicOutcome[]> {
  // An API Gateway event never carries `source: aws.states` or SNS `Records` at its top level: a request body cannot put them there.
  if (isExecutionStatusChange(event)) return runStatusHandler(functionDeps().runStatus, event);
  if (isSnsDelivery(event)) return inboxTopicHandler(functionDeps().inboxTopic, event);
  return onDelivery(event as ApiEvent, context);
}
