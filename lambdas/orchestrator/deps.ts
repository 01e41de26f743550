import { Logger } from '@aws-lambda-powertools/logger';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
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
import { capsOf } from '../../core/runs/caps';
import { sfnTaskCompleter } from './task-callbacks';
import { wakeQueuedRuns, WOKEN_OUTPUT, type QueueWaker, type WakeDelivery } from '../../core/runs/queue-wake';
import type { RunQueuePort } from '../../core/store/run-queue';
import { snsInboxNotifier, snsQueueMovedAnnouncer } from './inbox-topic';

/** One structured JSON logger for the state machine's Lambda tasks; every line carries the run id. */
export const orchestratorLogger = new Logger({ serviceName: 'nightshift-orchestrator' });

/** Everything the orchestrator's handlers need. Lambdas build it from the environment; local mode and tests inject their own. */
export type OrchestratorDeps = AdmissionDeps &
  FinalizeDeps &
  PauseDeps &
  AutomaticResumeDeps & {
    /** SendTaskSuccess on a waiting task (Admit completes its own state; wakers complete queued runs'). */
    completeTask(token: string, output: string): Promise<WakeDelivery>;
  };

/** The queue waker of a handler: wakes what the freed capacity admits, and logs (never throws) a failure, which the per-minute sweep repairs. */
export function queueWakerOf(deps: Pick<OrchestratorDeps, 'queue' | 'slots' | 'caps' | 'completeTask'> & { queue: RunQueuePort }): QueueWaker {
  return async (options) => {
    try {
      const { woken } = await wakeQueuedRuns({ queue: deps.queue, slots: deps.slots, caps: deps.caps, wakeRun: (token) => deps.completeTask(token, WOKEN_OUTPUT) }, options);
      if (woken.length > 0) orchestratorLogger.info('queued runs woken', { woken });
    } catch (err) {
      orchestratorLogger.warn('could not wake queued runs; the queue sweep will', { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  };
}

export function orchestratorDepsFromEnv(env: NodeJS.ProcessEnv = process.env): OrchestratorDeps {
  const doc = documentClientFor(createDynamoClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env) }));
  const names = tableNamesFromEnv(env);
  const store = createStore(doc, names);
  const config = runtimeConfig();
  // Only the functions that create items are given the topic (and sns:Publish on it): infra/constructs/inbox-notifications.ts.
  const inboxTopic = optionalEnv('INBOX_TOPIC_ARN', env);
  // With the GitHub triggers, Admit, Finalize and the backstop announce the queue's moves (infra/constructs/inbox-notifications.ts).
  const statusEventsTopic = optionalEnv('STATUS_EVENTS_TOPIC_ARN', env);
  const sns = inboxTopic || statusEventsTopic ? new SNSClient({}) : undefined;
  const caps = capsOf(config);
  const completeTask = sfnTaskCompleter(new SFNClient({}));
  return {
    runs: store.runs,
    events: store.events,
    ledger: store.ledger,
    slots: store.slots,
    queue: store.queue,
    runKeys: store.runKeys,
    inbox: store.inbox,
    caps,
    completeTask,
    wakeQueue: queueWakerOf({ queue: store.queue, slots: store.slots, caps, completeTask }),
    threads: createThreadStore(doc, names.control),
    reviewBacklog: { maxOpenPrsPerRequester: config.concurrency.maxOpenPrsPerRequester, inbox: store.inbox, places: store.reviewPlaces },
    stopRunTasks: ecsRunTasks(new ECSClient({}), requiredEnv('CLUSTER_ARN', env)).stopRunTasks,
    metrics: createPowertoolsSink(),
    ...(sns && inboxTopic ? { notify: snsInboxNotifier(sns, inboxTopic, config.github.commentCommand) } : {}),
    ...(sns && statusEventsTopic ? { announceQueueMoved: snsQueueMovedAnnouncer(sns, statusEventsTopic) } : {}),
  };
}

/** Built on first use, then kept for the life of the Lambda instance (clients at module scope). */
export function lazyOrchestratorDeps(build: () => OrchestratorDeps = orchestratorDepsFromEnv): () => OrchestratorDeps {
  let deps: OrchestratorDeps | undefined;
  return () => (deps ??= build());
}
