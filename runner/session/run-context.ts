import type { NightshiftConfig } from '../../core/config/schema';
import { IllegalTransitionError } from '../../core/runs/lifecycle';
import type { RunEventLog, RunnerEventLog, RunnerLedger, RunnerRunAccess, RunPatch, RunRecord } from '../../core/store/ports';
import type { EgressSettings } from '../egress/egress-settings';
import type { GithubApi } from '../github/github-api';
import type { GithubTokenSource } from '../github-token-source';
import { RunnerLogger, type LineSink } from '../log';
import { RunnerMetrics } from '../metrics';
import type { ModelProvider } from '../model/provider';
import type { Redactor } from '../redaction';
import type { RepoSecretSource } from '../secrets/repo-secrets';
import { TaskCallbacksDeniedError, TaskNoLongerWaitedError, type TaskCallbacks } from '../task-callbacks';
import { RunTrace } from '../trace/run-trace';
import type { CheckpointStore, TraceSink } from '../trace/trace-sink';
import type { SetupCacheSettings } from './setup-cache-store';
import { Interrupted } from './run-errors';

/** Everything the runner talks to, behind ports so that tests run it fully offline. */
export interface RunnerDeps {
  runId: string;
  config: NightshiftConfig;
  /** Its own run, events and ledger entries only: on AWS through the token broker (runner/broker-run-data.ts). */
  runs: RunnerRunAccess;
  events: RunnerEventLog;
  ledger: RunnerLedger;
  callbacks: TaskCallbacks;
  tokens: GithubTokenSource;
  /** `proxyUrl`: the run's egress proxy, which the runner's own GitHub API calls go through. */
  github(token: string, repo: string, proxyUrl?: string): GithubApi;
  model: ModelProvider;
  traceSink: TraceSink;
  /** The checkpoints of the run's pauses (beside the trace; on AWS through the token broker). */
  checkpoints: CheckpointStore;
  /** Store the trace after this many new records (default 20; it is also stored every 15 s while records wait, and at the end). */
  traceFlushEveryRecords?: number;
  /** This run's workspace directory (created; removed at the end unless `keepWorkspace`). */
  workspace: string;
  keepWorkspace?: boolean;
  toolUser?: string;
  /** The tool user serves only this run (the image: one run per task): every process of it is killed after each command. */
  toolUserExclusive?: boolean;
  /** The egress proxy (NIGHTSHIFT_PROXY_URL and its access log); undefined: no proxy, and the run says so. */
  egress?: EgressSettings;
  /** The setup cache for a repository (runner/session/setup-cache.ts); undefined: every run installs from scratch. */
  setupCache?: (repo: string) => SetupCacheSettings;
  /** The run repository's named secrets (config `repos[].secrets`) from the token broker; required when the repo has any. */
  secrets?: RepoSecretSource;
  redactor: Redactor;
  logSink: LineSink;
  /** Aborted on SIGTERM: the run pushes its work in progress and reports. */
  stop: AbortSignal;
  now?: () => Date;
  /** Calls `beat` every `intervalMs` until the returned function is called (default: setInterval; tests drive it by hand). */
  heartbeatTicker?: HeartbeatTicker;
}

/** Calls `beat` every `intervalMs` until the returned function is called. */
export type HeartbeatTicker = (beat: () => void, intervalMs: number) => () => void;

const intervalTicker: HeartbeatTicker = (beat, intervalMs) => {
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};

/** Heartbeats during the runner's own long phases; well inside any sensible noProgressMinutes. */
export const PHASE_HEARTBEAT_INTERVAL_MS = 60_000;

export type RunEventType = Parameters<RunEventLog['append']>[1];

/**
 * What every phase of a run shares: its dependencies, its run record, its log, trace and metrics,
 * and the plumbing that reports progress (events, heartbeats, stop checks). The phases
 * (workspace, agent loop, delivery, ending) take it instead of reaching into one big session.
 */
export class RunContext {
  readonly log: RunnerLogger;
  readonly trace: RunTrace;
  metrics: RunnerMetrics;
  readonly now: () => Date;
  readonly startedAt: Date;
  /** performance.now() when the session was created: start → first model call is measured from it. */
  readonly createdAt = performance.now();
  /** Milliseconds each phase took (start, clone, setup, baseTests) and from start to the first model call. */
  readonly timings: Record<string, number> = {};
  private current: RunRecord | undefined;

  constructor(readonly deps: RunnerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.startedAt = this.now();
    this.log = new RunnerLogger(deps.runId, deps.redactor, deps.logSink);
    this.trace = new RunTrace(deps.redactor, {
      sink: deps.traceSink,
      runId: deps.runId,
      ...(deps.traceFlushEveryRecords ? { flushEveryRecords: deps.traceFlushEveryRecords } : {}),
      onError: (err) => this.log.warn('could not store the trace so far', { error: deps.redactor.redact((err as Error).message) }),
    });
    this.metrics = new RunnerMetrics(deps.logSink, 'unknown', deps.runId);
  }

  get config(): NightshiftConfig {
    return this.deps.config;
  }

  get redactor(): Redactor {
    return this.deps.redactor;
  }

  /** The run record, once the start phase has read it. */
  get run(): RunRecord {
    if (!this.current) throw new Error('the run record is not read yet');
    return this.current;
  }

  get hasRun(): boolean {
    return this.current !== undefined;
  }

  adoptRun(run: RunRecord): void {
    this.current = run;
    // A resumed run's task (segment 2, 3, ...) keeps its trace beside the earlier tasks' traces; so
    // does a task started over after an interruption before its loop (a resume with nothing to restore).
    if (run.resume) this.trace.useSegment(run.resume.segment);
    this.metrics = new RunnerMetrics(this.deps.logSink, run.repo, run.runId);
  }

  async timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.timings[phase] = performance.now() - started;
    }
  }

  checkStop(): void {
    if (this.deps.stop.aborted) throw new Interrupted('stopped (SIGTERM)');
  }

  /**
   * Tells the state machine the run makes progress. A lost task (timed out, stopped) ends the run; so
   * does a refusal of the call itself (AccessDenied: the task role may not call SendTask* on this state
   * machine, which no retry mends; docs/operations.md). Any other failure is logged and the next
   * heartbeat tries again (HeartbeatSeconds catches a run that never gets one through).
   */
  async heartbeat(): Promise<void> {
    try {
      await this.deps.callbacks.heartbeat();
    } catch (err) {
      if (err instanceof TaskNoLongerWaitedError || err instanceof TaskCallbacksDeniedError) throw err;
      this.log.warn('a heartbeat failed; the next one tries again', { error: this.redactor.redact((err as Error).message) });
    }
  }

  /**
   * Runs one of the runner's own bounded phases (clone, a setup or test command, the push) with a
   * heartbeat every minute. The agent's tool commands never get one: a hung tool command must trip
   * HeartbeatSeconds. When the state machine no longer waits, the phase's command is aborted.
   */
  async withHeartbeats<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const lost = new AbortController();
    let inFlight = false;
    const stopTicking = (this.deps.heartbeatTicker ?? intervalTicker)(() => {
      if (inFlight || lost.signal.aborted) return;
      inFlight = true;
      this.heartbeat()
        .catch((err: unknown) => lost.abort(err))
        .finally(() => {
          inFlight = false;
        });
    }, PHASE_HEARTBEAT_INTERVAL_MS);
    try {
      const result = await work(AbortSignal.any([this.deps.stop, lost.signal]));
      if (lost.signal.aborted) throw lost.signal.reason;
      return result;
    } catch (err) {
      throw lost.signal.aborted ? lost.signal.reason : err;
    } finally {
      stopTicking();
    }
  }

  /** A runner-bounded command never outlasts the run's time box. */
  withinTimeBox(seconds: number): number {
    return Math.max(1, Math.min(seconds, this.run.maxMinutes * 60));
  }

  async patchRun(patch: Pick<RunPatch, 'branch' | 'prUrl'>): Promise<void> {
    try {
      await this.deps.runs.patch(this.deps.runId, patch);
    } catch (err) {
      if (err instanceof IllegalTransitionError) throw new Interrupted(`run is ${err.from}`);
      throw err;
    }
  }

  /** Appends to the run's timeline (redacted) and logs it. A lost entry never ends the run. */
  async emit(type: RunEventType, message: string, detail: Record<string, unknown>): Promise<void> {
    const redactor = this.redactor;
    try {
      await this.deps.events.append(this.deps.runId, type, redactor.redact(message), redactor.redactValue(detail));
    } catch (err) {
      this.log.warn('could not append a run event', { type, error: (err as Error).message });
    }
    this.log.info(message, { event: type });
  }
}
