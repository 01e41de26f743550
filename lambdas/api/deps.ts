import type { AnswerDeps } from '../../core/runs/answer';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { runtimeConfig } from '../../core/config/runtime';
import { optionalEnv, requiredEnv } from '../../core/env';
import type { CancelDeps } from '../../core/runs/cancel';
import type { SubmitDeps } from '../../core/runs/submit';
import { createPowertoolsSink } from '../../core/metrics/powertools-sink';
import { createDynamoClient, documentClientFor, tableNamesFromEnv } from '../../core/store/client';
import { createStore } from '../../core/store/index';
import { idempotencyKeys } from '../../core/store/tables';
import { lambdaBranchFacts } from '../github/branch-facts-client';
import { createThreadStore } from '../../core/store/threads';
import { stepFunctionsExecutions } from './step-functions';

/** Everything the API handlers need; the Lambdas build it from the environment, local mode from its own parts. */
export type ApiDeps = SubmitDeps &
  CancelDeps &
  AnswerDeps & {
    /** Powertools Idempotency's store for the Idempotency-Key header. */
    idempotencyStore: BasePersistenceLayer;
  };

export function apiDepsFromEnv(env: NodeJS.ProcessEnv = process.env): ApiDeps {
  const names = tableNamesFromEnv(env);
  const dynamo = createDynamoClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env) });
  const doc = documentClientFor(dynamo);
  const store = createStore(doc, names);
  const executions = stepFunctionsExecutions(new SFNClient({}), requiredEnv('STATE_MACHINE_ARN', env));
  const branchFactsFunction = optionalEnv('BRANCH_FACTS_FUNCTION', env);
  return {
    config: runtimeConfig(),
    runs: store.runs,
    events: store.events,
    ledger: store.ledger,
    slots: store.slots,
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
    // Only the submit function is granted this function; the others never call it (a branch is only submitted).
    ...(branchFactsFunction ? { branchFacts: lambdaBranchFacts(new LambdaClient({}), branchFactsFunction) } : {}),
    idempotencyStore: new DynamoDBPersistenceLayer({
      tableName: names.idempotency,
      keyAttr: idempotencyKeys.partitionKey,
      expiryAttr: idempotencyKeys.ttlAttribute,
      awsSdkV3Client: dynamo,
    }),
  };
}

/** Built on first use, then kept for the life of the Lambda instance (clients at module scope). */
export function lazyApiDeps(build: () => ApiDeps = apiDepsFromEnv): () => ApiDeps {
  let deps: ApiDeps | undefined;
  return () => (deps ??= build());
}
