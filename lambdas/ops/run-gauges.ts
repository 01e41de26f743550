import { createLogger } from '../../core/observability/logger';
import type { Context } from 'aws-lambda';
import { runtimeConfig } from '../../core/config/runtime';
import { requiredEnv } from '../../core/env';
import type { MetricRecord } from '../../core/metrics/catalog';
import { emitAll, type MetricsSink } from '../../core/metrics/emf';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import type { RunStatus } from '../../core/runs/lifecycle';
import { reconcileSlots } from '../../core/runs/slot-reconciler';
import { wakeQueuedRuns, WOKEN_OUTPUT, type QueueWakeDeps } from '../../core/runs/queue-wake';
import { capsOf } from '../../core/runs/caps';
import { createRunQueue } from '../../adapters/dynamodb/run-queue';
import { queueHoldChecker, queueHoldDepsOf, queueHoldsOf, type QueueHoldDeps } from '../../core/runs/queue-holds';
import { createThreadStore } from '../../adapters/dynamodb/threads';
import { createInboxStore } from '../../adapters/dynamodb/inbox-store';
import { createReviewPlaces } from '../../adapters/dynamodb/review-places';
import { SFNClient } from '@aws-sdk/client-sfn';
import { sfnTaskCompleter } from '../orchestrator/task-callbacks';
import { createConcurrencySlots } from '../../adapters/dynamodb/concurrency-slots';
import { createIntakeFlag } from '../../adapters/dynamodb/intake-flag';
import type { ConcurrencySlotsPort, IntakeFlagPort, ListingRunRepository, RunEventLog } from '../../core/store/ports';
import { createRunEventLog } from '../../adapters/dynamodb/run-event-log';
import { createListingRunRepository, listIndexModeFromEnv } from '../../adapters/dynamodb/run-list';
import { opsDynamoDocument } from './clients';
import { stopIdleProxy, type ProxyIdleDeps, type ProxyIdleStep } from '../../core/egress/proxy-demand';
import { createEcsProxyService, proxyServiceTargetFromEnv } from '../../adapters/ecs/proxy-service';
import { createProxyIdleClock } from '../../adapters/dynamodb/proxy-idle-clock';

/**
 * Samples, once a minute, what only the store knows: how many runs wait, how long the oldest has
 * been STARTING (the stuck-runs alarm), whether intake is paused. Every value is written every
 * minute, zeros included, so the alarms see data rather than silence.
 */
export interface RunGaugeDeps {
  runs: ListingRunRepository;
  events: RunEventLog;
  intake: IntakeFlagPort;
  metrics: MetricsSink;
  now?: () => Date;
}

async function runsIn(runs: ListingRunRepository, status: RunStatus) {
  const found: { runId: string; createdAt: string }[] = [];
  let cursor: string | undefined;
  do {
    const page = await runs.list({ status, limit: 100, ...(cursor ? { cursor } : {}) });
    found.push(...page.runs.map((r) => ({ runId: r.runId, createdAt: r.createdAt })));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return found;
}

/**
 * When the run entered STARTING: the admission's status event (`detail.to === "STARTING"`). Runs in
 * STARTING are few (at most concurrency.global), so reading their first events is cheap. Without
 * such an event the creation time is used: an overestimate, so a stuck run is never missed.
 */
async function admissionTime(events: RunEventLog, run: { runId: string; createdAt: string }): Promise<number> {
  const { events: first } = await events.list(run.runId, { limit: 50 });
  const admitted = first.filter((e) => e.type === 'status' && e.detail?.to === 'STARTING').at(-1);
  return Date.parse(admitted?.at ?? run.createdAt);
}

export async function sampleRunGauges(deps: RunGaugeDeps): Promise<MetricRecord[]> {
  const now = (deps.now ?? (() => new Date()))().getTime();
  const [queued, starting, intake] = await Promise.all([runsIn(deps.runs, 'QUEUED'), runsIn(deps.runs, 'STARTING'), deps.intake.get()]);
  const admittedAt = await Promise.all(starting.map((run) => admissionTime(deps.events, run)));
  const oldestStartingMs = admittedAt.reduce((oldest, at) => Math.max(oldest, now - at), 0);
  const records: MetricRecord[] = [
    { name: 'RunsQueued', value: queued.length, dimensions: {} },
    { name: 'RunsStarting', value: starting.length, dimensions: {} },
    { name: 'OldestStartingSeconds', value: Math.max(0, Math.floor(oldestStartingMs / 1000)), dimensions: {} },
    { name: 'IntakePaused', value: intake.paused ? 1 : 0, dimensions: {} },
  ];
  emitAll(deps.metrics, records);
  return records;
}

export interface RunGaugeTickDeps extends RunGaugeDeps {
  slots: ConcurrencySlotsPort;
  repos: readonly string[];
  /** The queue sweep: wakes queued runs a lost wake-up left waiting (core/runs/queue-wake.ts). */
  queueWake: Omit<QueueWakeDeps, 'slots'>;
  /** With `network.proxy: "on-demand"`: the proxy's service and idle clock (core/egress/proxy-demand.ts). */
  proxyIdle?: Omit<ProxyIdleDeps, 'activeRuns' | 'now'>;
}

/**
 * One minute's work: sample the gauges, free slots held by runs that ended or do not exist (a stale
 * admission can take a slot after Finalize released it; core/runs/slot-reconciler.ts), then sweep the
 * queue: wake the queued runs the free capacity admits, the backstop of the wake-ups on release. With
 * the proxy on demand, last: stop it once idle long enough, or start it for runs holding slots.
 */
export async function runGaugeTick(
  deps: RunGaugeTickDeps,
): Promise<{ records: MetricRecord[]; slotsReleased: string[]; woken: string[]; proxy?: ProxyIdleStep }> {
  const records = await sampleRunGauges(deps);
  const { released } = await reconcileSlots({ runs: deps.runs, slots: deps.slots, repos: deps.repos });
  const { woken } = await wakeQueuedRuns({ ...deps.queueWake, slots: deps.slots });
  if (!deps.proxyIdle) return { records, slotsReleased: released, woken };
  const now = (deps.now ?? (() => new Date()))();
  const { step } = await stopIdleProxy({ ...deps.proxyIdle, activeRuns: () => deps.slots.holders(), now });
  return { records, slotsReleased: released, woken, proxy: step };
}

/** The stores the sweep's check of held runs reads: only those of the holds this deployment can have (what infra grants). */
function queueHoldDepsFromEnv(runs: QueueHoldDeps['runs']): QueueHoldDeps {
  const doc = opsDynamoDocument();
  const config = runtimeConfig();
  const holds = queueHoldsOf(config);
  const control = requiredEnv('CONTROL_TABLE');
  return queueHoldDepsOf(
    {
      runs,
      ...(holds.threads ? { threads: createThreadStore(doc, control) } : {}),
      // The inbox table is named only where the review backlog is configured (State.grantQueueHoldReads).
      ...(holds.reviewBacklog
        ? { inbox: createInboxStore(doc, requiredEnv('INBOX_TABLE')), reviewPlaces: createReviewPlaces(doc, control) }
        : {}),
    },
    config,
  );
}

const logger = createLogger({ serviceName: 'nightshift-run-gauges' });
let deps: RunGaugeTickDeps | undefined;
const completeTask = sfnTaskCompleter(new SFNClient({}));

/** The tick's stores and clients, built once per Lambda instance. */
function gaugeDepsFromEnv(): RunGaugeTickDeps {
  const runs = createListingRunRepository(opsDynamoDocument(), requiredEnv('RUNS_TABLE'), { listIndexes: listIndexModeFromEnv() });
  const proxy = proxyServiceTargetFromEnv();
  return {
    ...(proxy
      ? {
          proxyIdle: {
            proxy: createEcsProxyService(proxy),
            clock: createProxyIdleClock(opsDynamoDocument(), requiredEnv('CONTROL_TABLE')),
            idleMinutes: runtimeConfig().network.proxyIdleMinutes,
          },
        }
      : {}),
    runs,
    events: createRunEventLog(opsDynamoDocument(), requiredEnv('EVENTS_TABLE')),
    intake: createIntakeFlag(opsDynamoDocument(), requiredEnv('CONTROL_TABLE')),
    slots: createConcurrencySlots(opsDynamoDocument(), requiredEnv('CONTROL_TABLE')),
    repos: runtimeConfig().repos.map((repo) => repo.name),
    metrics: createLambdaMetricsSink(),
    queueWake: {
      queue: createRunQueue(opsDynamoDocument(), requiredEnv('CONTROL_TABLE')),
      caps: capsOf(runtimeConfig()),
      wakeRun: (token) => completeTask(token, WOKEN_OUTPUT),
      liftedHolds: queueHoldChecker(queueHoldDepsFromEnv(runs)),
    },
  };
}

export async function handler(_event: unknown, context?: Context): Promise<MetricRecord[]> {
  if (context) logger.addContext(context);
  deps ??= gaugeDepsFromEnv();
  const { records, slotsReleased, woken, proxy } = await runGaugeTick(deps);
  if (woken.length > 0) logger.info('queue sweep woke queued runs', { woken });
  if (proxy === 'stopped' || proxy === 'started') logger.info(`on-demand egress proxy ${proxy}`, { proxy });
  logger.info('run gauges sampled', { gauges: Object.fromEntries(records.map((r) => [r.name, r.value])) });
  if (slotsReleased.length > 0) logger.warn('slots held by ended or missing runs released', { runIds: slotsReleased });
  return records;
}
