import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { runtimeConfig } from '../../core/config/runtime';
import { optionalEnv, requiredEnv } from '../../core/env';
import type { AnswerDeps } from '../../core/runs/answer';
import type { CancelDeps } from '../../core/runs/cancel';
import type { SubmitDeps } from '../../core/runs/submit';
import { createPowertoolsSink } from '../../core/metrics/powertools-sink';
import { createDynamoClient, documentClientFor, tableNamesFromEnv } from '../../core/store/client';
import { createStore } from '../../core/store/index';
import { createInboxStore } from '../../core/store/inbox-store';
import { createRunEventLog } from '../../core/store/run-event-log';
import { createRunRepository } from '../../core/store/run-repository';
import { createRunQueue, type RunQueuePort } from '../../core/store/run-queue';
import { createThreadStore } from '../../core/store/threads';
import { stepFunctionsExecutions } from './step-functions';

/**
 * Everything the API handlers need; the Lambdas build it from the environment, local mode from its own parts.
 * `POST /v1/runs` adds its idempotency store and the branch facts client (lambdas/api/idempotency.ts), so
 * only its bundle carries Powertools Idempotency and the Lambda client.
 */
export type ApiDeps = SubmitDeps & CancelDeps & AnswerDeps;

export function apiDynamoClient(env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
  return createDynamoClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env) });
}

export function apiDepsFromEnv(env: NodeJS.ProcessEnv = process.env, dynamo: DynamoDBClient = apiDynamoClient(env)): ApiDeps {
  const names = tableNamesFromEnv(env);
  const doc = documentClientFor(dynamo);
  const store = createStore(doc, names);
  const executions = stepFunctionsExecutions(new SFNClient({}), requiredEnv('STATE_MACHINE_ARN', env));
  return {
    config: runtimeConfig(),
    runs: store.runs,
    events: store.events,
    ledger: store.ledger,
    slots: store.slots,
    queue: store.queue,
    intake: store.intake,
    inbox: store.inbox,
    startExecution: executions.startExecution,
    stopExecution: executions.stopExecution,
    sendTaskSuccess: executions.sendTaskSuccess,
    sendTaskFailure: executions.sendTaskFailure,
    // The thread limit of an approved budget_approval (budgets.perThreadUsd).
    threads: createThreadStore(doc, names.control),
    // The API never holds a run's compute: stopping its execution hands the task to the backstop, which stops it.
    stopRunTasks: (runId) => executions.stopExecution(runId, 'run finalized by the API'),
    metrics: createPowertoolsSink(),
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
    runs: createRunRepository(doc, names.runs),
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
