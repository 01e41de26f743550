import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { runtimeConfig } from '../../core/config/runtime';
import { requiredEnv } from '../../core/env';
import type { AnswerDeps } from '../../core/runs/answer';
import type { CancelDeps } from '../../core/runs/cancel';
import type { FinalizeDeps } from '../../core/runs/finalize';
import type { SubmitDeps } from '../../core/runs/submit';
import type { ListingRunRepository } from '../../core/store/ports';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import { documentClientFor, tableNamesFromEnv } from '../../adapters/dynamodb/client';
import { createBudgetLedger } from '../../adapters/dynamodb/budget-ledger';
import { createConcurrencySlots } from '../../adapters/dynamodb/concurrency-slots';
import { createIntakeFlag } from '../../adapters/dynamodb/intake-flag';
import type { TableNames } from '../../adapters/dynamodb/tables';
import { createInboxStore } from '../../adapters/dynamodb/inbox-store';
import { createRunEventLog } from '../../adapters/dynamodb/run-event-log';
import { createRunRepository } from '../../adapters/dynamodb/run-repository';
import { createRunQueue } from '../../adapters/dynamodb/run-queue';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { apiDynamoClient } from './read-deps';
import { stepFunctionsExecutions } from './step-functions';

// The read-only routes import these from ./read-deps, which loads no Step Functions client.
export { apiDynamoClient, lazyApiDeps, readApiDepsFromEnv, type ReadApiDeps } from './read-deps';

/**
 * Everything the API handlers need together (the API tests give every route one set). On AWS each function
 * builds only its own part from the environment (submitDepsFromEnv, cancelDepsFromEnv, answerDepsFromEnv,
 * readApiDepsFromEnv), so its bundle carries only the stores it uses. `POST /v1/runs` adds its Idempotency-Key
 * records and the branch facts client (lambdas/api/idempotency.ts), so only its bundle carries them and
 * the Lambda client.
 */
export type ApiDeps = SubmitDeps & CancelDeps & AnswerDeps & { runs: ListingRunRepository };

/** The configuration every route reads (who is an admin). */
type RouteConfig = Pick<ApiDeps, 'config'>;

/** What `POST /v1/runs/{runId}/cancel` needs; on AWS its function builds only this (cancelDepsFromEnv). */
export type CancelApiDeps = CancelDeps & RouteConfig;

/** What `POST /v1/inbox/{itemId}` needs; on AWS its function builds only this (answerDepsFromEnv). */
export type AnswerApiDeps = AnswerDeps & RouteConfig;

type StepFunctionsExecutions = ReturnType<typeof stepFunctionsExecutions>;

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
