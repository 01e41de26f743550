import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { runtimeConfig } from '../../core/config/runtime';
import { optionalEnv, requiredEnv } from '../../core/env';
import type { AnswerDeps } from '../../core/runs/answer';
import type { CancelDeps } from '../../core/runs/cancel';
import type { FinalizeDeps } from '../../core/runs/finalize';
import type { SubmitDeps } from '../../core/runs/submit';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import { createDynamoClient, documentClientFor, tableNamesFromEnv } from '../../core/store/client';
import { createBudgetLedger } from '../../core/store/budget-ledger';
import { createConcurrencySlots } from '../../core/store/concurrency-slots';
import { createIntakeFlag } from '../../core/store/intake-flag';
import type { TableNames } from '../../core/store/tables';
import { createInboxStore } from '../../core/store/inbox-store';
import { createRunEventLog } from '../../core/store/run-event-log';
import { createRunRepository } from '../../core/store/run-repository';
import { listIndexModeFromEnv } from '../../core/store/run-list';
import { createRunQueue, type RunQueuePort } from '../../core/store/run-queue';
import { createThreadStore } from '../../core/store/threads';
import { stepFunctionsExecutions } from './step-functions';

/**
 * Everything the API handlers need together (the API tests give every route one set). On AWS each function
 * builds only its own part from the environment (submitDepsFromEnv, cancelDepsFromEnv, answerDepsFromEnv,
 * readApiDepsFromEnv), so its bundle carries only the stores it uses. `POST /v1/runs` adds its idempotency
 * store and the branch facts client (lambdas/api/idempotency.ts), so only its bundle carries Powertools
 * Idempotency and the Lambda client.
 */
export type ApiDeps = SubmitDeps & CancelDeps & AnswerDeps;

/** The configuration every route reads (who is an admin). */
type RouteConfig = Pick<ApiDeps, 'config'>;

/** What `POST /v1/runs/{runId}/cancel` needs; on AWS its function builds only this (cancelDepsFromEnv). */
export type CancelApiDeps = CancelDeps & RouteConfig;

/** What `POST /v1/inbox/{itemId}` needs; on AWS its function builds only this (answerDepsFromEnv). */
export type AnswerApiDeps = AnswerDeps & RouteConfig;

type StepFunctionsExecutions = ReturnType<typeof stepFunctionsExecutions>;

export function apiDynamoClient(env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
  return createDynamoClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env) });
}

/** The tables every API function starts from. */
function tablesFromEnv(env: NodeJS.ProcessEnv, dynamo: DynamoDBClient) {
  return { doc: documentClientFor(dynamo), names: tableNamesFromEnv(env) };
}

/**
 * What ending a run from the API settles (core/runs/finalize.ts): a run cancelled while queued, a
 * submission whose execution did not start. The API never holds a run's compute: stopping its
 * execution hands the task to the backstop, which stops it.
 */
function finalizeDepsOf(doc: DynamoDBDocumentClient, names: TableNames, executions: StepFunctionsExecutions): FinalizeDeps {
  return {
    runs: createRunRepository(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    ledger: createBudgetLedger(doc, { runs: names.runs, control: names.control }),
    slots: createConcurrencySlots(doc, names.control),
    queue: createRunQueue(doc, names.control),
    inbox: createInboxStore(doc, names.inbox),
    stopRunTasks: (runId) => executions.stopExecution(runId, 'run finalized by the API'),
    metrics: createLambdaMetricsSink(),
  };
}

const executionsFromEnv = (env: NodeJS.ProcessEnv) => stepFunctionsExecutions(new SFNClient({}), requiredEnv('STATE_MACHINE_ARN', env));

/** A submission (`POST /v1/runs`, a schedule's tick): admission to the ledger, the intake flag, threads, the execution it starts. */
export function submitDepsFromEnv(env: NodeJS.ProcessEnv = process.env, dynamo: DynamoDBClient = apiDynamoClient(env)): SubmitDeps {
  const { doc, names } = tablesFromEnv(env, dynamo);
  const executions = executionsFromEnv(env);
  return {
    ...finalizeDepsOf(doc, names, executions),
    config: runtimeConfig(),
    intake: createIntakeFlag(doc, names.control),
    startExecution: executions.startExecution,
    threads: createThreadStore(doc, names.control),
  };
}

/** `POST /v1/runs/{runId}/cancel`: stops the execution, or ends a queued run itself. */
export function cancelDepsFromEnv(env: NodeJS.ProcessEnv = process.env): CancelApiDeps {
  const { doc, names } = tablesFromEnv(env, apiDynamoClient(env));
  const executions = executionsFromEnv(env);
  return { ...finalizeDepsOf(doc, names, executions), config: runtimeConfig(), stopExecution: executions.stopExecution };
}

/** `POST /v1/inbox/{itemId}`: the item, its run, the waiting task's token; an approved budget_approval extends the budget. */
export function answerDepsFromEnv(env: NodeJS.ProcessEnv = process.env): AnswerApiDeps {
  const { doc, names } = tablesFromEnv(env, apiDynamoClient(env));
  const executions = executionsFromEnv(env);
  return {
    config: runtimeConfig(),
    inbox: createInboxStore(doc, names.inbox),
    runs: createRunRepository(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    sendTaskSuccess: executions.sendTaskSuccess,
    sendTaskFailure: executions.sendTaskFailure,
    ledger: createBudgetLedger(doc, { runs: names.runs, control: names.control }),
    // The thread limit of an approved budget_approval (budgets.perThreadUsd).
    threads: createThreadStore(doc, names.control),
  };
}

/** What the read-only routes need (GET runs, events, inbox): no ledger, slots or executions, so their bundles carry none. */
export type ReadApiDeps = Pick<ApiDeps, 'config' | 'runs' | 'events' | 'inbox'> & {
  /** A QUEUED run's live position (GET /v1/runs/{runId}); absent: the position Admit stored. */
  queuePositions?: Pick<RunQueuePort, 'position'>;
};

export function readApiDepsFromEnv(env: NodeJS.ProcessEnv = process.env): ReadApiDeps {
  const names = tableNamesFromEnv(env);
  const doc = documentClientFor(apiDynamoClient(env));
  return {
    config: runtimeConfig(),
    runs: createRunRepository(doc, names.runs, { listIndexes: listIndexModeFromEnv(env) }),
    events: createRunEventLog(doc, names.events),
    inbox: createInboxStore(doc, names.inbox),
    queuePositions: createRunQueue(doc, names.control),
  };
}

/** Built on first use, then kept for the life of the Lambda instance (clients at module scope). */
export function lazyApiDeps<D extends ReadApiDeps>(build: () => D): () => D {
  let deps: D | undefined;
  return () => (deps ??= build());
}
