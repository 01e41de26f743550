import { rmSync } from 'node:fs';
import { BudgetExhaustedError } from '../../core/errors';
import { microsToUsd } from '../../core/pricing';
import { GitCommandError } from '../git/workspace-git';
import type { ModelBudget } from '../model-budget';
import { TaskCallbacksDeniedError, TaskNoLongerWaitedError } from '../task-callbacks';
import type { WorkspaceLayout } from '../workspace';
import type { ComputeMeter } from './compute-meter';
import { pushWorkInProgress } from './delivery';
import { startOverAfterEarlyInterruption } from './early-interruption';
import type { RefusedHostsReport } from './refused-hosts-report';
import type { RunContext } from './run-context';
import { Interrupted, RunFailure, type RunEnd } from './run-errors';
import type { PreparedRun, RunProxy } from './prepared-run';

/**
 * How a failure ends the run: budget, a stop from outside, or an error with a code. Work in progress is
 * pushed where there is some: always for the budget and a stop, and for any other failure once the
 * agent loop has started (`loopStarted`: before it, the checkout holds no agent work).
 */
export async function endFromError(
  ctx: RunContext,
  err: unknown,
  prepared: PreparedRun | undefined,
  options: { loopStarted?: boolean } = {},
): Promise<RunEnd> {
  // SIGTERM before the loop: the task starts over without a human (early-interruption.ts).
  const startOver = startOverAfterEarlyInterruption(ctx, err, options);
  if (startOver) {
    await ctx.emit('note', startOver.kind === 'paused' ? startOver.report.pause.message : 'interrupted', { beforeLoop: true });
    return startOver;
  }
  const push = (reason: string) => tryPushWorkInProgress(ctx, prepared, reason);
  const branch = prepared?.repo.branch;
  if (err instanceof BudgetExhaustedError) {
    const pushed = await push('the budget is exhausted');
    const cause = `budget exhausted: the next model call needs up to $${microsToUsd(err.neededMicros).toFixed(4)}, $${microsToUsd(err.availableMicros).toFixed(4)} left${pushed ? `; work in progress pushed to ${branch}` : ''}`;
    await ctx.emit('note', cause, { neededMicros: err.neededMicros, availableMicros: err.availableMicros, pushed });
    return { kind: 'failed', error: 'Nightshift.BudgetExceeded', cause };
  }
  if (err instanceof Interrupted || err instanceof TaskNoLongerWaitedError || ctx.deps.stop.aborted) {
    const pushed = await push('the run was stopped');
    const cause = `${err instanceof Error ? err.message : 'stopped'}${pushed ? `; work in progress pushed to ${branch}` : ''}`;
    const cancelled = err instanceof Interrupted && /cancel-requested|CANCELLED/.test(err.message);
    return { kind: 'failed', error: cancelled ? 'Nightshift.Cancelled' : 'Nightshift.Interrupted', cause };
  }
  if (err instanceof TaskCallbacksDeniedError) {
    // The final report will most likely be refused too, so the timeline and the log say why the run
    // ends (Finalize then records it as no_progress when the heartbeat window passes).
    const pushed = await push('the task role may not report to the state machine');
    const cause = `task_callbacks_denied: ${err.message}${pushed ? `; work in progress pushed to ${branch}` : ''}`;
    ctx.log.error('run failed', { code: 'task_callbacks_denied', error: err.message });
    await ctx.emit('status', `run failed: ${cause}`, { code: 'task_callbacks_denied', reason: err.reason, pushed });
    return { kind: 'failed', error: 'Nightshift.RunFailed', cause: cause.slice(0, 900) };
  }
  const code = err instanceof RunFailure ? err.code : err instanceof GitCommandError ? 'git_failed' : 'runner_error';
  const message = ctx.redactor.redact(err instanceof Error ? err.message : String(err));
  ctx.log.error('run failed', {
    code,
    error: message,
    stack: err instanceof Error && !(err instanceof RunFailure) ? ctx.redactor.redact(err.stack ?? '') : undefined,
  });
  const pushed = options.loopStarted ? await push(`the run failed (${code})`) : false;
  const cause = `${code}: ${message}${pushed ? `; work in progress pushed to ${branch}` : ''}`;
  await ctx.emit('note', `run failed: ${cause}`, { code, pushed });
  return { kind: 'failed', error: 'Nightshift.RunFailed', cause: cause.slice(0, 900) };
}

async function tryPushWorkInProgress(ctx: RunContext, prepared: PreparedRun | undefined, reason: string): Promise<boolean> {
  if (!prepared || !ctx.hasRun) return false;
  try {
    return await pushWorkInProgress(ctx, prepared, reason);
  } catch (err) {
    ctx.log.error('could not push work in progress', { error: ctx.redactor.redact((err as Error).message) });
    return false;
  }
}

export interface ReportInput {
  layout: WorkspaceLayout;
  /** The run's proxy port, once the start phase checked it. */
  proxy: RunProxy | undefined;
  budget: ModelBudget;
  meter: ComputeMeter;
  refusedHosts: RefusedHostsReport;
}

/** Charges compute, stores the trace, then reports to the state machine: the ledger is complete before finalize settles it. */
export async function reportEnd(ctx: RunContext, end: RunEnd, input: ReportInput): Promise<RunEnd> {
  const { deps, redactor } = ctx;
  const chargeFailure = await input.meter.chargeFinalWithRetries();
  if (chargeFailure) {
    // A cost that cannot be recorded is never reported as a clean success: the ledger would be short.
    const cause = `compute_charge_failed: ${chargeFailure}`;
    await ctx
      .emit('note', `could not charge compute to the run's budget: ${chargeFailure}`, { code: 'compute_charge_failed' })
      .catch(() => undefined);
    end =
      end.kind === 'failed'
        ? { ...end, cause: `${end.cause}; ${cause}`.slice(0, 900) }
        : { kind: 'failed', error: 'Nightshift.RunFailed', cause };
  }
  await input.refusedHosts.collect(input.proxy);
  try {
    const summary = ctx.trace.summary();
    const location = await ctx.trace.flush();
    const totals = input.budget.totals;
    await ctx.emit('trace', `trace stored (${summary.lines} lines)`, {
      location,
      ...summary,
      tokens: totals.usage,
      modelMicros: totals.modelMicros,
      computeMicros: input.meter.chargedMicros,
    });
  } catch (err) {
    ctx.log.error('could not store the trace', { error: redactor.redact((err as Error).message) });
  }
  try {
    if (end.kind === 'succeeded') await deps.callbacks.succeed({ ...end.result, summary: redactor.redact(end.result.summary) });
    else if (end.kind === 'paused') await deps.callbacks.pause(redactor.redactValue(end.report));
    else await deps.callbacks.fail(end.error, redactor.redact(end.cause));
  } catch (err) {
    // The state machine's heartbeat timeout and the backstop end the run if this report is lost.
    ctx.log.error('could not report to the state machine', { error: redactor.redact((err as Error).message) });
  }
  ctx.log.info(end.kind === 'paused' ? 'run paused' : 'run ended', {
    end: end.kind === 'succeeded' ? end.result.outcome : end.kind === 'paused' ? end.report.pause.reason : end.error,
  });
  if (!deps.keepWorkspace) rmSync(input.layout.root, { recursive: true, force: true });
  return end;
}
