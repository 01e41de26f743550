import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { requiredEnv } from '../../core/env';
import type { MetricRecord } from '../../core/metrics/catalog';
import { emitAll, type MetricsSink } from '../../core/metrics/emf';
import { createPowertoolsSink } from '../../core/metrics/powertools-sink';
import type { RunStatus } from '../../core/runs/lifecycle';
import { createIntakeFlag } from '../../core/store/intake-flag';
import type { IntakeFlagPort, RunEventLog, RunRepository } from '../../core/store/ports';
import { createRunEventLog } from '../../core/store/run-event-log';
import { createRunRepository } from '../../core/store/run-repository';
import { opsDynamoDocument } from './clients';

/**
 * Samples, once a minute, what only the store knows: how many runs wait, how long the oldest has
 * been STARTING (the stuck-runs alarm), whether intake is paused. Every value is written every
 * minute, zeros included, so the alarms see data rather than silence.
 */
export interface RunGaugeDeps {
  runs: RunRepository;
  events: RunEventLog;
  intake: IntakeFlagPort;
  metrics: MetricsSink;
  now?: () => Date;
}

async function runsIn(runs: RunRepository, status: RunStatus) {
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

const logger = new Logger({ serviceName: 'nightshift-run-gauges' });
let deps: RunGaugeDeps | undefined;

export async function handler(_event: unknown, context?: Context): Promise<MetricRecord[]> {
  if (context) logger.addContext(context);
  deps ??= {
    runs: createRunRepository(opsDynamoDocument(), requiredEnv('RUNS_TABLE')),
    events: createRunEventLog(opsDynamoDocument(), requiredEnv('EVENTS_TABLE')),
    intake: createIntakeFlag(opsDynamoDocument(), requiredEnv('CONTROL_TABLE')),
    metrics: createPowertoolsSink(),
  };
  const records = await sampleRunGauges(deps);
  logger.info('run gauges sampled', { gauges: Object.fromEntries(records.map((r) => [r.name, r.value])) });
  return records;
}
