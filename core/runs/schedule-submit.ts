import * as z from 'zod';
import { ScheduleConfig } from '../config/schema';
import type { RefusalReason } from '../metrics/catalog';
import { emitAll, type MetricsSink } from '../metrics/emf';
import { refusalReasonOf, runSubmittedMetrics, submissionRefusedMetrics } from '../metrics/run-metrics';
import { submitRun, type SubmitDeps } from './submit';

/**
 * The submit of a cron schedule (EventBridge Scheduler -> lambdas/schedule/submit.ts): the same
 * submitRun as the API, with source `schedule` and requester `schedule:<name>`, so budgets, caps,
 * the allowlist and the circuit breaker apply. A refused submission is logged and counted and the
 * call returns normally: the next tick is the retry, and Scheduler must not hammer a closed door.
 * Anything else (a fault of ours) throws, so Lambda and Scheduler retry and then dead-letter it.
 */

/**
 * What the schedule passes. Only the schedule's name: repo and prompt come from the deployed
 * configuration, so whoever can invoke the function cannot choose what an agent is told to do.
 */
export const ScheduleInvocation = z
  .object({
    schedule: ScheduleConfig.shape.name,
    /** `<aws.scheduler.scheduled-time>`: the tick this invocation belongs to. */
    scheduledTime: z.string().datetime({ offset: true }).optional(),
    /** `<aws.scheduler.execution-id>`, for the logs. */
    executionId: z.string().max(200).optional(),
  })
  .strict();
export type ScheduleInvocation = z.infer<typeof ScheduleInvocation>;

/** The invocation names a schedule the deployed configuration does not have (a deploy mismatch: never silent). */
export class UnknownScheduleError extends Error {
  constructor(readonly schedule: string) {
    super(`schedule ${schedule} is not in the configuration`);
    this.name = 'UnknownScheduleError';
  }
}

export interface ScheduleLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface ScheduleSubmitDeps extends SubmitDeps {
  metrics: MetricsSink;
  log: ScheduleLog;
}

export type ScheduleSubmitResult =
  | { status: 'submitted'; schedule: string; runId: string }
  | { status: 'refused'; schedule: string; reason: RefusalReason; message: string }
  | { status: 'skipped'; schedule: string; reason: 'schedule_paused' };

export function scheduleRequester(name: string): string {
  return `schedule:${name}`;
}

export async function submitScheduledRun(deps: ScheduleSubmitDeps, input: unknown): Promise<ScheduleSubmitResult> {
  const invocation = ScheduleInvocation.parse(input);
  const entry = deps.config.schedules.find((s) => s.name === invocation.schedule);
  if (!entry) throw new UnknownScheduleError(invocation.schedule);
  const context = {
    schedule: entry.name,
    repo: entry.repo,
    scheduledTime: invocation.scheduledTime ?? null,
    executionId: invocation.executionId ?? null,
  };

  // A paused entry is a DISABLED schedule; a tick can still arrive while a deploy is switching it off.
  if (entry.paused) {
    deps.log.info('schedule is paused in the configuration; not submitting', context);
    return { status: 'skipped', schedule: entry.name, reason: 'schedule_paused' };
  }

  try {
    const result = await submitRun(deps, {
      request: { repo: entry.repo, prompt: entry.prompt, ...(entry.budgetUsd !== undefined ? { budgetUsd: entry.budgetUsd } : {}) },
      requester: scheduleRequester(entry.name),
      source: 'schedule',
    });
    // The run record carries the allowlist's spelling of the repo; the metric must match the dashboard's.
    const repo = deps.config.repos.find((r) => r.name.toLowerCase() === entry.repo.toLowerCase())?.name ?? entry.repo;
    emitAll(deps.metrics, runSubmittedMetrics({ repo, source: 'schedule' }));
    deps.log.info('scheduled run submitted', { ...context, runId: result.runId });
    return { status: 'submitted', schedule: entry.name, runId: result.runId };
  } catch (err) {
    const reason = refusalReasonOf(err);
    if (reason === undefined) throw err;
    emitAll(deps.metrics, submissionRefusedMetrics(reason, 'schedule'));
    const message = err instanceof Error ? err.message : String(err);
    deps.log.warn('scheduled submission refused; the next tick will try again', { ...context, reason, message });
    return { status: 'refused', schedule: entry.name, reason, message };
  }
}
