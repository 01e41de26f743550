import { join } from 'node:path';
import { ModelBudget } from './model-budget';
import type { TestRunResult } from './repo/test-results';
import { runAgentLoop } from './session/agent-loop';
import { checkpointIfPaused } from './session/checkpoint';
import { ComputeMeter } from './session/compute-meter';
import { deliver } from './session/delivery';
import { runChecks } from './session/checks-phase';
import { FinishGate } from './session/finish-gate';
import { RefusedHostsReport } from './session/refused-hosts-report';
import { restoreConversation } from './session/resume';
import { runReview } from './session/review-run';
import { StatusProgress } from './session/status-progress';
import { RunContext, type RunnerDeps } from './session/run-context';
import { endFromError, reportEnd } from './session/run-ending';
import type { RunEnd } from './session/run-errors';
import { runTests } from './session/test-phase';
import type { PreparedRun, StartedRun } from './session/prepared-run';
import { checkoutRepo, defaultRepoRules, loadCommandEnvironments, readRepoRules, runSetup, startRun } from './session/workspace-phase';
import { workspaceLayout, type WorkspaceLayout } from './workspace';

export { PHASE_HEARTBEAT_INTERVAL_MS, type HeartbeatTicker, type RunnerDeps } from './session/run-context';
export { RunFailure, type RunEnd } from './session/run-errors';

/**
 * One runner task of a `change` run (a `review` run branches off after the start phase), composed of its phases (runner/session/): start and workspace,
 * setup and the tests at base, the conversation restored after a pause, the agent loop, then either
 * a pause (checkpoint) or delivery of a draft PR, and the ending that charges compute, stores the
 * trace and reports to the state machine exactly once.
 */
export class RunSession {
  private readonly ctx: RunContext;
  private readonly layout: WorkspaceLayout;
  private readonly budget: ModelBudget;
  private readonly meter: ComputeMeter;
  private readonly refusedHosts: RefusedHostsReport;
  private started: StartedRun | undefined;
  private prepared: PreparedRun | undefined;
  /** Set once the agent loop starts: from then on every failure pushes work in progress. */
  private loopStarted = false;

  constructor(deps: RunnerDeps) {
    this.ctx = new RunContext(deps);
    this.layout = workspaceLayout(deps.workspace);
    this.budget = new ModelBudget(deps.ledger, deps.runId, deps.config.model.prices, deps.config.model.maxOutputTokens);
    this.meter = new ComputeMeter(this.ctx);
    this.refusedHosts = new RefusedHostsReport(this.ctx);
  }

  /** Milliseconds each phase took (start, clone, setup, baseTests) and from start to the first model call. */
  get timings(): Record<string, number> {
    return this.ctx.timings;
  }

  /** Stores the trace recorded so far (SIGTERM: before the grace period may run out). */
  flushTrace(): Promise<string | undefined> {
    return this.ctx.trace.flush();
  }

  /** Runs the whole lifecycle and reports to the state machine exactly once. Never throws. */
  async execute(): Promise<RunEnd> {
    let end: RunEnd;
    try {
      end = await this.lifecycle();
    } catch (err) {
      end = await endFromError(this.ctx, err, this.prepared, { loopStarted: this.loopStarted });
    }
    return reportEnd(this.ctx, end, {
      layout: this.layout,
      proxy: this.started?.proxy,
      budget: this.budget,
      meter: this.meter,
      refusedHosts: this.refusedHosts,
    });
  }

  private async lifecycle(): Promise<RunEnd> {
    const { ctx } = this;
    // A heartbeat after each phase, and on a timer during the long ones the runner bounds itself:
    // noProgressMinutes runs from RunTask, long before the first model turn.
    const started = await ctx.timed('start', () => startRun(ctx, this.layout));
    this.started = started;
    await ctx.heartbeat();
    // A review run composes the phases its own way (runner/session/review-run.ts): it never pushes work in progress.
    if (ctx.run.runKind === 'review') return runReview(ctx, started, { budget: this.budget, meter: this.meter });
    const repo = await ctx.timed('clone', () => ctx.withHeartbeats(() => checkoutRepo(ctx, started)));
    // From here on a failure pushes work in progress to the run branch.
    const prepared: PreparedRun = {
      ...started,
      repo,
      rules: defaultRepoRules(),
      commandEnv: started.toolEnv,
      headTestEnv: started.toolEnv,
    };
    this.prepared = prepared;
    await ctx.heartbeat();
    // The GitHub status comment says the run is running, before setup and the tests at base.
    const status = new StatusProgress(ctx, repo.github);
    await status.report(0, ctx.run.spentMicros);
    prepared.rules = await readRepoRules(ctx, this.layout, repo);
    Object.assign(prepared, await loadCommandEnvironments(ctx, started.toolEnv));
    const setupNotes = await ctx.timed('setup', () => runSetup(ctx, prepared));
    const baseTests: TestRunResult | undefined = await ctx.timed('baseTests', () => runTests(ctx, prepared, 'base'));
    await ctx.heartbeat();
    const baseChecks = await ctx.timed('baseChecks', () => runChecks(ctx, prepared, 'base'));
    const gate = new FinishGate(ctx, prepared, baseTests, baseChecks);
    const restored = await restoreConversation(ctx);
    this.loopStarted = true;
    const agentEnd = await runAgentLoop(ctx, {
      prepared,
      budget: this.budget,
      meter: this.meter,
      setupNotes,
      baseTests,
      gate,
      restored,
      status,
    });
    const paused = await checkpointIfPaused(ctx, agentEnd, prepared);
    if (paused) return paused;
    return deliver(ctx, agentEnd, {
      prepared,
      budget: this.budget,
      meter: this.meter,
      refusedHosts: this.refusedHosts,
      baseTests,
      baseChecks,
      gate,
    });
  }
}

export function runWorkspaceDir(root: string, runId: string): string {
  return join(root, runId);
}
