import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { runtimeConfig } from '../../core/config/runtime';
import type { NightshiftConfig } from '../../core/config/schema';
import { optionalEnv, requiredEnv } from '../../core/env';
import type { InboxNotifier, QueueMovedAnnouncer } from '../../core/inbox/inbox-notification';
import type { AdmissionDeps } from '../../core/runs/admission';
import type { AutomaticResumeDeps } from '../../core/runs/automatic-resume';
import type { FinalizeDeps } from '../../core/runs/finalize';
import type { PauseDeps } from '../../core/runs/pause';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import { createBudgetLedger } from '../../adapters/dynamodb/budget-ledger';
import { createDynamoClient, documentClientFor, tableNamesFromEnv } from '../../adapters/dynamodb/client';
import { createConcurrencySlots } from '../../adapters/dynamodb/concurrency-slots';
import { createInboxStore } from '../../adapters/dynamodb/inbox-store';
import type { ConcurrencySlotsPort, SlotCaps } from '../../core/store/ports';
import { createReviewPlaces } from '../../adapters/dynamodb/review-places';
import { createRunEventLog } from '../../adapters/dynamodb/run-event-log';
import { createRunKeys } from '../../adapters/dynamodb/run-keys';
import { createRunRepository } from '../../adapters/dynamodb/run-repository';
import type { TableNames } from '../../adapters/dynamodb/tables';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { createEcsProxyService, proxyServiceTargetFromEnv } from '../../adapters/ecs/proxy-service';
import type { ProxyServicePort } from '../../core/egress/proxy-demand';
import { ecsRunTasks } from './ecs-run-tasks';
import { capsOf } from '../../core/runs/caps';
import { sfnTaskCompleter } from './task-callbacks';
import { wakeQueuedRuns, WOKEN_OUTPUT, type QueueWaker, type WakeDelivery } from '../../core/runs/queue-wake';
import { createRunQueue, type RunQueuePort } from '../../adapters/dynamodb/run-queue';
import { snsInboxNotifier, snsQueueMovedAnnouncer } from './inbox-topic';
import { orchestratorLogger } from './orchestrator-logger';

// The handlers' logger; TaskStopped imports it from ./orchestrator-logger directly.
export { orchestratorLogger };

/** SendTaskSuccess on a waiting task (Admit completes its own state; wakers complete queued runs'). */
export interface TaskCompleter {
  completeTask(token: string, output: string): Promise<WakeDelivery>;
}

/** What the Admit task needs: admission, and the task callbacks that complete its own state and wake queued runs. */
export type AdmitDeps = AdmissionDeps & TaskCompleter & { wakeQueue?: QueueWaker; proxy?: ProxyServicePort };

/**
 * Everything the orchestrator's handlers need together: local mode and the orchestration tests build
 * one for all of them. On AWS each function builds only its own part (the `*DepsFromEnv` below), so
 * its bundle carries only the stores it uses.
 */
export type OrchestratorDeps = AdmitDeps & FinalizeDeps & PauseDeps & AutomaticResumeDeps;

/** The queue waker of a handler: wakes what the freed capacity admits, and logs (never throws) a failure, which the per-minute sweep repairs. */
export function queueWakerOf(deps: { queue: RunQueuePort; slots: ConcurrencySlotsPort; caps: SlotCaps } & TaskCompleter): QueueWaker {
  return async (options) => {
    try {
      const { woken } = await wakeQueuedRuns(
        { queue: deps.queue, slots: deps.slots, caps: deps.caps, wakeRun: (token) => deps.completeTask(token, WOKEN_OUTPUT) },
        options,
      );
      if (woken.length > 0) orchestratorLogger.info('queued runs woken', { woken });
    } catch (err) {
      orchestratorLogger.warn('could not wake queued runs; the queue sweep will', {
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
    }
  };
}

/** The tables and configuration every orchestrator function starts from. */
interface OrchestratorBase {
  doc: DynamoDBDocumentClient;
  names: TableNames;
  config: NightshiftConfig;
  caps: SlotCaps;
}

function baseFromEnv(env: NodeJS.ProcessEnv): OrchestratorBase {
  const config = runtimeConfig();
  return {
    doc: documentClientFor(createDynamoClient({ endpoint: optionalEnv('AWS_ENDPOINT_URL_DYNAMODB', env) })),
    names: tableNamesFromEnv(env),
    config,
    caps: capsOf(config),
  };
}

/** Only the functions that create items are given the topic (and sns:Publish on it): infra/constructs/inbox-notifications.ts. */
function notifierFromEnv(env: NodeJS.ProcessEnv, config: NightshiftConfig): { notify?: InboxNotifier } {
  const inboxTopic = optionalEnv('INBOX_TOPIC_ARN', env);
  return inboxTopic ? { notify: snsInboxNotifier(new SNSClient({}), inboxTopic, config.github.commentCommand) } : {};
}

/** With the GitHub triggers, Admit, Finalize and the backstop announce the queue's moves (infra/constructs/inbox-notifications.ts). */
function queueMovesFromEnv(env: NodeJS.ProcessEnv): { announceQueueMoved?: QueueMovedAnnouncer } {
  const statusEventsTopic = optionalEnv('STATUS_EVENTS_TOPIC_ARN', env);
  return statusEventsTopic ? { announceQueueMoved: snsQueueMovedAnnouncer(new SNSClient({}), statusEventsTopic) } : {};
}

/** The slots and run queue of the functions that free capacity, and the waker that hands it to queued runs. */
function capacityFromEnv(base: OrchestratorBase) {
  const slots = createConcurrencySlots(base.doc, base.names.control);
  const queue = createRunQueue(base.doc, base.names.control);
  const completeTask = sfnTaskCompleter(new SFNClient({}));
  return { slots, queue, completeTask, wakeQueue: queueWakerOf({ queue, slots, caps: base.caps, completeTask }) };
}

const stopRunTasksFromEnv = (env: NodeJS.ProcessEnv) => ecsRunTasks(new ECSClient({}), requiredEnv('CLUSTER_ARN', env)).stopRunTasks;

/** Admit: the run, its key, slots, queue, threads and review places, the on-demand proxy; no ledger, no metrics. */
export function admitDepsFromEnv(env: NodeJS.ProcessEnv = process.env): AdmitDeps {
  const base = baseFromEnv(env);
  const { doc, names } = base;
  const inbox = createInboxStore(doc, names.inbox);
  const proxy = proxyServiceTargetFromEnv(env);
  return {
    ...(proxy ? { proxy: createEcsProxyService(proxy) } : {}),
    ...capacityFromEnv(base),
    runs: createRunRepository(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    runKeys: createRunKeys(doc, names.runs),
    caps: base.caps,
    threads: createThreadStore(doc, names.control),
    reviewBacklog: {
      maxOpenPrsPerRequester: base.config.concurrency.maxOpenPrsPerRequester,
      inbox,
      places: createReviewPlaces(doc, names.control),
    },
    ...queueMovesFromEnv(env),
  };
}

/** Pause: the run, its inbox item, the slots it gives back (and the queued runs they wake), its task to stop. */
export function pauseDepsFromEnv(env: NodeJS.ProcessEnv = process.env): PauseDeps {
  const base = baseFromEnv(env);
  const { doc, names } = base;
  const { slots, wakeQueue } = capacityFromEnv(base);
  return {
    runs: createRunRepository(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    slots,
    wakeQueue,
    inbox: createInboxStore(doc, names.inbox),
    stopRunTasks: stopRunTasksFromEnv(env),
    ...notifierFromEnv(env, base.config),
  };
}

/** Resume without a human: the run, its events, its slots, its task to stop. */
export function automaticResumeDepsFromEnv(env: NodeJS.ProcessEnv = process.env): AutomaticResumeDeps {
  const { doc, names } = baseFromEnv(env);
  return {
    runs: createRunRepository(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    slots: createConcurrencySlots(doc, names.control),
    stopRunTasks: stopRunTasksFromEnv(env),
  };
}

/** Finalize and the backstop: everything a run's end settles (ledger, slots, queue, inbox items, metrics). */
export function finalizeDepsFromEnv(env: NodeJS.ProcessEnv = process.env): FinalizeDeps {
  const base = baseFromEnv(env);
  const { doc, names } = base;
  const { slots, queue, wakeQueue } = capacityFromEnv(base);
  return {
    runs: createRunRepository(doc, names.runs),
    events: createRunEventLog(doc, names.events),
    ledger: createBudgetLedger(doc, { runs: names.runs, control: names.control }),
    slots,
    queue,
    wakeQueue,
    inbox: createInboxStore(doc, names.inbox),
    stopRunTasks: stopRunTasksFromEnv(env),
    metrics: createLambdaMetricsSink(),
    ...notifierFromEnv(env, base.config),
    ...queueMovesFromEnv(env),
  };
}

/** Built on first use, then kept for the life of the Lambda instance (clients at module scope). */
export function lazyOrchestratorDeps<D>(build: () => D): () => D {
  let deps: D | undefined;
  return () => (deps ??= build());
}
