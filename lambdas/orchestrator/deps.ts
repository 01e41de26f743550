import { Logger } from '@aws-lambda-powertools/logger';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import { runtimeConfig } from '../../core/config/runtime';
import { optionalEnv, requiredEnv } from '../../core/env';
import type { AdmissionDeps } from '../../core/runs/admission';
import type { AutomaticResumeDeps } from '../../core/runs/automatic-resume';
import type { FinalizeDeps } from '../../core/runs/finalize';
import type { PauseDeps } from '../../core/runs/pause';
import { createPowertoolsSink } from '../../core/metrics/powertools-sink';
import { createDynamoClient, documentClientFor, tableNamesFromEnv } from '../../core/store/client';
import { createStore } from '../../core/store/index';
import { createThreadStore } from '../../core/store/threads';
import { ecsRunTasks } from './ecs-run-tasks';
import { snsInboxNotifier } from './inbox-topic';

/** One structured JSON logger for the state machine's Lambda tasks; every line carries the run id. */
export const orchestratorLogger = new Logger({ serviceName: 'nightshift-orchestrator' });

/** Everything the orchestrator's handlers need. Lambdas build it from the environment; local mode and tests inject their own. */
export type OrchestratorDeps = AdmissionDeps & FinalizeDeps & PauseDeps & AutomaticResumeDeps;

export function orchestratorDepsFromEnv(env: NodeJS.ProcessEnv = process.env): OrchestratorDeps {
  const doc = documentClientFor(createDynamoClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env) }));
  const names = tableNamesFromEnv(env);
  const store = createStore(doc, names);
  const config = runtimeConfig();
  // Only the Pause function is given the topic (and sns:Publish on it): infra/constructs/inbox-notifications.ts.
  const inboxTopic = optionalEnv('INBOX_TOPIC_ARN', env);
  return {
    runs: store.runs,
    events: store.events,
    ledger: store.ledger,
    slots: store.slots,
    runKeys: store.runKeys,
    inbox: store.inbox,
    caps: { global: config.concurrency.global, perRepo: config.concurrency.perRepo },
    threads: createThreadStore(doc, names.control),
    reviewBacklog: { maxOpenPrsPerRequester: config.concurrency.maxOpenPrsPerRequester, inbox: store.inbox, places: store.reviewPlaces },
    stopRunTasks: ecsRunTasks(new ECSClient({}), requiredEnv('CLUSTER_ARN', env)).stopRunTasks,
    metrics: createPowertoolsSink(),
    ...(inboxTopic ? { notify: snsInboxNotifier(new SNSClient({}), inboxTopic, config.github.commentCommand) } : {}),
  };
}

/** Built on first use, then kept for the life of the Lambda instance (clients at module scope). */
export function lazyOrchestratorDeps(build: () => OrchestratorDeps = orchestratorDepsFromEnv): () => OrchestratorDeps {
  let deps: OrchestratorDeps | undefined;
  return () => (deps ??= build());
}
