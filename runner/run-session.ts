import type { ContentBlock } from '@aws-sdk/client-bedrock-runtime';
import { lstatSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoSettings } from '../core/config/load';
import type { NightshiftConfig } from '../core/config/schema';
import { blockedHostsMarkdown, checkProxy, ProxyUnavailableError, refusedHosts, reportRefusedHosts, type RefusedHost } from '../core/egress';
import { BudgetExhaustedError } from '../core/errors';
import { computeMicros, microsToUsd } from '../core/pricing';
import { IllegalTransitionError, isTerminal } from '../core/runs/lifecycle';
import type { RunnerErrorName, RunnerResult } from '../core/runs/schemas';
import { slugify } from '../core/runs/text';
import type { BudgetLedgerPort, RunEventLog, RunPatch, RunRecord, RunRepository } from '../core/store/ports';
import { systemPrompt, taskMessage } from './agent/system-prompt';
import { runProxy, runTrafficWindow, type EgressSettings } from './egress/egress-settings';
import { GitCommandError, WorkspaceGit } from './git/workspace-git';
import type { GithubApi } from './github/github-api';
import { pullRequestBody, pullRequestTitle } from './github/pull-request-body';
import type { GithubTokenSource } from './github-token-source';
import { runSandboxed } from './isolation/sandbox';
import { buildToolEnvironment } from './isolation/tool-environment';
import { resolveToolIdentity, type ToolIdentity } from './isolation/tool-identity';
import type { LineSink } from './log';
import { RunnerLogger } from './log';
import { RunnerMetrics, runnerMetricNames } from './metrics';
import { runStartedMetrics } from '../core/metrics/run-metrics';
import { ModelBudget } from './model-budget';
import { usageOf } from './model/converse-response';
import { Conversation } from './model/conversation';
import type { ModelProvider } from './model/provider';
import type { Redactor } from './redaction';
import { readRepoSecrets, RepoSecretError, type RepoSecretSource } from './secrets/repo-secrets';
import { readAgentInstructions, readNightshiftYml, RepoSettingsFileError, type NightshiftYml } from './repo/repo-settings-file';
import { parseTestOutput, readJunitReport, testDelta, type TestRunResult, type TestState } from './repo/test-results';
import { TaskNoLongerWaitedError, type TaskCallbacks } from './task-callbacks';
import { toolSpecs } from './tools/definitions';
import { DEFAULT_PROTECTED_PATHS, ProtectedPaths } from './tools/protected-paths';
import { executeTool, type ToolControl } from './tools/tool-executor';
import { PathRefusedError } from './tools/workspace-paths';
import type { TraceSink } from './trace/trace-sink';
import { RunTrace } from './trace/run-trace';
import { giveTreeTo, prepareWorkspace, workspaceLayout, type WorkspaceLayout } from './workspace';

/** Everything the runner talks to, behind ports so that tests run it fully offline. */
export interface RunnerDeps {
  runId: string;
  config: NightshiftConfig;
  runs: RunRepository;
  events: RunEventLog;
  ledger: BudgetLedgerPort;
  callbacks: TaskCallbacks;
  tokens: GithubTokenSource;
  /** `proxyUrl`: the run's egress proxy, which the runner's own GitHub API calls go through. */
  github(token: string, repo: string, proxyUrl?: string): GithubApi;
  model: ModelProvider;
  traceSink: TraceSink;
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

/** How the run ended, as reported to the state machine. */
export type RunEnd = { kind: 'succeeded'; result: RunnerResult } | { kind: 'failed'; error: RunnerErrorName; cause: string };

/** A failure with a short machine-readable code, reported as `Nightshift.RunFailed` with `code: message`. */
export class RunFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RunFailure';
  }
}

class Interrupted extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Interrupted';
  }
}

type AgentEnd = { kind: 'control'; control: ToolControl } | { kind: 'end_turn'; text: string } | { kind: 'turn_limit' };

const DEFAULT_TEST_TIMEOUT_SECONDS = 900;
const SETUP_TIMEOUT_SECONDS = 900;

export class RunSession {
  private readonly log: RunnerLogger;
  private readonly trace: RunTrace;
  private readonly budget: ModelBudget;
  private metrics: RunnerMetrics;
  private readonly now: () => Date;
  private readonly startedAt: Date;
  private readonly createdAt = performance.now();
  private readonly layout: WorkspaceLayout;
  private identity!: ToolIdentity;
  private toolEnv!: Record<string, string>;
  /** The tool environment plus the repo's named secrets: setup commands and the base test run, never agent tools. */
  private commandEnv!: Record<string, string>;
  /** The head test run runs agent-written code: it gets the secrets only when the repo opts in (secretsInHeadTests). */
  private headTestEnv!: Record<string, string>;
  private git!: WorkspaceGit;
  private github!: GithubApi;
  private tokenExpiresAt = 0;
  private run!: RunRecord;
  private branch: string | null = null;
  private baseBranch = '';
  private baseCommit = '';
  private protectedPaths = new ProtectedPaths(DEFAULT_PROTECTED_PATHS);
  private repoFile: NightshiftYml = {};
  private testCommand: string | undefined;
  private baseTests: TestRunResult | undefined;
  /** Compute charged to the ledger so far: micro-USD, the seconds they cover, and whether the final charge is done. */
  private computeCharged = 0;
  private computeChargedSeconds = 0;
  private computeFinal = false;
  private computeChargeSeq = 0;
  /** A compute charge that failed, retried with the same id and amount (charges are exactly once per id). */
  private pendingCompute: { id: string; micros: number; seconds: number } | undefined;
  /** The run's port of the egress proxy, once the preflight passed. */
  private proxy: { url: string; portName: string; port: number } | undefined;
  private refused: Promise<RefusedHost[]> | undefined;
  private turns = 0;
  /** Milliseconds each phase took (start, clone, setup, baseTests) and from start to the first model call. */
  readonly timings: Record<string, number> = {};

  constructor(private readonly deps: RunnerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.startedAt = this.now();
    this.log = new RunnerLogger(deps.runId, deps.redactor, deps.logSink);
    this.trace = new RunTrace(deps.redactor, {
      sink: deps.traceSink,
      runId: deps.runId,
      ...(deps.traceFlushEveryRecords ? { flushEveryRecords: deps.traceFlushEveryRecords } : {}),
      onError: (err) => this.log.warn('could not store the trace so far', { error: deps.redactor.redact((err as Error).message) }),
    });
    this.budget = new ModelBudget(deps.ledger, deps.runId, deps.config.model.prices, deps.config.model.maxOutputTokens);
    this.metrics = new RunnerMetrics(deps.logSink, 'unknown', deps.runId);
    this.layout = workspaceLayout(deps.workspace);
  }

  /** Stores the trace recorded so far (SIGTERM: before the grace period may run out). */
  flushTrace(): Promise<string | undefined> {
    return this.trace.flush();
  }

  /** Runs the whole lifecycle and reports to the state machine exactly once. Never throws. */
  async execute(): Promise<RunEnd> {
    let end: RunEnd;
    try {
      end = await this.lifecycle();
    } catch (err) {
      end = await this.endFromError(err);
    }
    await this.wrapUp(end);
    return end;
  }

  private async lifecycle(): Promise<RunEnd> {
    // A heartbeat after each phase, and on a timer during the long ones the runner bounds itself:
    // noProgressMinutes runs from RunTask, long before the first model turn.
    await this.timed('start', () => this.start());
    await this.heartbeat();
    await this.timed('clone', () => this.withHeartbeats(() => this.checkout()));
    await this.heartbeat();
    await this.readRepositorySettings();
    await this.loadRepoSecrets();
    const setupNotes = await this.timed('setup', () => this.setup());
    this.baseTests = await this.timed('baseTests', () => this.runTests('base'));
    await this.heartbeat();
    const agentEnd = await this.agentLoop(setupNotes);
    return this.finish(agentEnd);
  }

  private async timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.timings[phase] = performance.now() - started;
    }
  }

  // ---- start -------------------------------------------------------------------------------

  private async start(): Promise<void> {
    const run = await this.deps.runs.get(this.deps.runId);
    if (!run) throw new RunFailure('run_not_found', `run ${this.deps.runId} is not in the runs table`);
    if (isTerminal(run.status) || run.cancelRequested) throw new Interrupted(`run is ${run.cancelRequested ? 'cancel-requested' : run.status}`);
    this.run = run.status === 'RUNNING' ? run : await this.deps.runs.transition(run.runId, 'RUNNING', { startedAt: this.now().toISOString() });
    this.metrics = new RunnerMetrics(this.deps.logSink, run.repo, run.runId);
    // Counted once: a runner restarted on a run that is already RUNNING did not start it.
    if (run.status !== 'RUNNING' && this.run.startedAt) this.metrics.emitRecords(runStartedMetrics(this.run, this.run.startedAt));
    await this.emit('status', 'RUNNING: the runner started', { status: 'RUNNING', model: this.deps.model.description });
    if (this.deps.model.kind === 'replay') await this.emit('note', `replayed session: this run is served by a ${this.deps.model.description}, not a live model`, { replayed: true });

    await this.checkEgress();

    this.identity = resolveToolIdentity(this.deps.toolUser, { exclusive: this.deps.toolUserExclusive === true });
    if (this.identity.kind === 'separate') {
      await this.emit('note', `isolation: tools run as ${this.identity.user} (uid ${this.identity.uid}), separate from the runner`, { isolation: 'uid', toolUid: this.identity.uid });
    } else {
      await this.emit('note', `isolation: not root, ${this.identity.reason}`, { isolation: 'same-user', toolUid: this.identity.uid });
    }
    prepareWorkspace(this.layout, this.identity);
    this.toolEnv = buildToolEnvironment({ home: this.layout.toolHome, user: this.identity.user, ...(this.proxy ? { proxyUrl: this.proxy.url } : {}) });
  }

  /** Preflight before any work: a run whose proxy is down or serves another allowlist fails fast instead of hanging. */
  private async checkEgress(): Promise<void> {
    const egress = this.deps.egress;
    if (!egress) {
      await this.emit('note', 'egress: NIGHTSHIFT_PROXY_URL is not set, so tools ran without an egress proxy (no network allowlist)', { egressProxy: false });
      return;
    }
    const proxy = runProxy(egress, this.deps.config, this.run.repo);
    try {
      await checkProxy(proxy.url, { expectedPortName: proxy.portName });
    } catch (err) {
      if (err instanceof ProxyUnavailableError) throw new RunFailure('egress_proxy_unavailable', err.message);
      throw err;
    }
    this.proxy = proxy;
    await this.emit('note', `egress: tools and the runner's GitHub traffic go through the egress proxy (port ${proxy.port}, allowlist "${proxy.portName}")`, { egressProxy: true, proxyPort: proxy.port, portName: proxy.portName });
  }

  // ---- checkout ----------------------------------------------------------------------------

  private async checkout(): Promise<void> {
    const settings = repoSettings(this.deps.config, this.run.repo);
    if (!settings) throw new RunFailure('repo_not_allowed', `${this.run.repo} is not in the configuration's repos`);
    const token = await this.deps.tokens.tokenFor(this.run.runId);
    this.deps.redactor.add(token.token);
    this.tokenExpiresAt = Date.parse(token.expiresAt);
    this.github = this.deps.github(token.token, settings.name, this.proxy?.url);
    const info = await this.github.getRepo();
    const url = new URL(info.cloneUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'file:') throw new RunFailure('bad_clone_url', `refusing to clone over ${url.protocol}`);
    this.baseBranch = this.run.baseBranch ?? info.defaultBranch;
    this.git = new WorkspaceGit({ gitDir: this.layout.gitDir, workTree: this.layout.repo, home: this.layout.runnerHome, token: token.token, ...(this.proxy ? { proxyUrl: this.proxy.url } : {}) });

    // A run that continues a branch starts from it; otherwise from the base branch on a new run branch.
    const continuing = this.run.branch;
    if (continuing && continuing === this.baseBranch) throw new RunFailure('branch_is_base', `refusing to work on the base branch ${continuing}`);
    await this.git.clone(info.cloneUrl, continuing ?? this.baseBranch);
    this.baseCommit = await this.git.head();
    if (continuing) this.branch = continuing;
    else {
      this.branch = `nightshift/${this.run.runId}-${slugify(this.run.prompt, 40)}`;
      await this.git.createBranch(this.branch);
    }
    giveTreeTo(this.layout.repo, this.identity);
    await this.patchRun({ branch: this.branch });
    await this.emit('note', `cloned ${this.run.repo} at ${this.baseCommit.slice(0, 12)}; working on ${this.branch}`, { baseBranch: this.baseBranch, baseCommit: this.baseCommit, branch: this.branch });
  }

  private async readRepositorySettings(): Promise<void> {
    try {
      this.repoFile = readNightshiftYml(this.layout.repo);
    } catch (err) {
      if (err instanceof RepoSettingsFileError) throw new RunFailure('bad_repo_settings', err.message);
      throw err;
    }
    const settings = repoSettings(this.deps.config, this.run.repo)!;
    this.testCommand = this.repoFile.test ?? settings.test;
    this.protectedPaths = new ProtectedPaths([...DEFAULT_PROTECTED_PATHS, ...(this.repoFile.protectedPaths ?? [])]);
  }

  private async loadRepoSecrets(): Promise<void> {
    const named = repoSettings(this.deps.config, this.run.repo)!.secrets ?? {};
    const variables = Object.keys(named);
    this.commandEnv = this.toolEnv;
    this.headTestEnv = this.toolEnv;
    if (variables.length === 0) return;
    if (!this.deps.secrets) throw new RunFailure('secret_unavailable', 'the repo has named secrets but the runner has no secret source');
    let values: Record<string, string>;
    try {
      values = await readRepoSecrets({ repository: this.run.repo, variables }, this.run.runId, this.deps.secrets, Object.keys(this.toolEnv));
    } catch (err) {
      if (err instanceof RepoSecretError) throw new RunFailure('secret_unavailable', err.message);
      throw err;
    }
    for (const value of Object.values(values)) this.deps.redactor.add(value);
    this.commandEnv = { ...this.toolEnv, ...values };
    const inHeadTests = repoSettings(this.deps.config, this.run.repo)!.secretsInHeadTests;
    if (inHeadTests) this.headTestEnv = this.commandEnv;
    await this.emit('note', `secrets: ${variables.join(', ')} offered to the setup commands and the tests at base${inHeadTests ? ' and at head (secretsInHeadTests)' : ' only'}`, { secrets: variables, secretsInHeadTests: inHeadTests });
  }

  private async setup(): Promise<string[]> {
    const settings = repoSettings(this.deps.config, this.run.repo)!;
    const notes: string[] = [];
    for (const command of [...settings.setup, ...(this.repoFile.setup ?? [])]) {
      this.checkStop();
      const result = await this.withHeartbeats((signal) =>
        runSandboxed({ command, cwd: this.layout.repo, timeoutMs: this.withinTimeBox(SETUP_TIMEOUT_SECONDS) * 1_000, signal }, this.identity, this.commandEnv),
      );
      if (result.aborted) throw new Interrupted('stopped during setup');
      const status = result.timedOut ? 'timed out' : `exit code ${result.exitCode}`;
      notes.push(`\`${command}\`: ${status}${result.exitCode === 0 ? '' : `\n${result.output.slice(-2_000)}`}`);
      this.trace.record({ type: 'tool_call', turn: 0, name: 'setup', input: { command }, durationMs: result.durationMs, exitCode: result.exitCode, isError: result.exitCode !== 0, output: result.output });
      await this.emit('tool_call', `setup: ${command} → ${status}`, { name: 'setup', command, exitCode: result.exitCode, durationMs: result.durationMs, output: result.output.slice(-2_000) });
      await this.heartbeat();
    }
    return notes;
  }

  private async runTests(phase: 'base' | 'head'): Promise<TestRunResult | undefined> {
    const command = this.testCommand;
    if (!command) return undefined;
    this.checkStop();
    const timeoutSeconds = this.withinTimeBox(this.repoFile.testTimeoutSeconds ?? DEFAULT_TEST_TIMEOUT_SECONDS);
    const env = phase === 'base' ? this.commandEnv : this.headTestEnv;
    const result = await this.withHeartbeats((signal) => runSandboxed({ command, cwd: this.layout.repo, timeoutMs: timeoutSeconds * 1_000, signal }, this.identity, env));
    if (result.aborted) throw new Interrupted(`stopped while running the tests at ${phase}`);
    const junit = this.repoFile.testResults ? await this.junitReport(this.repoFile.testResults) : undefined;
    const parsed = junit ? { format: 'junit' as const, tests: junit } : parseTestOutput(result.output);
    const tests: TestRunResult = { command, passed: result.exitCode === 0, exitCode: result.exitCode, timedOut: result.timedOut, tests: parsed.tests, format: parsed.format, output: result.output, durationMs: result.durationMs };
    this.trace.record({ type: 'test_result', phase, command, passed: tests.passed, format: tests.format, tests: tests.tests, output: result.output });
    const failed = Object.entries(tests.tests).filter(([, s]) => s === 'fail').map(([n]) => n);
    await this.emit('test_result', `tests at ${phase}: ${tests.passed ? 'passed' : 'failed'}${tests.timedOut ? ' (timed out)' : ''}`, {
      phase,
      command,
      passed: tests.passed,
      exitCode: tests.exitCode,
      format: tests.format,
      total: Object.keys(tests.tests).length,
      failed: failed.slice(0, 50),
      durationMs: tests.durationMs,
    });
    return tests;
  }

  /** The repo's JUnit file; a refused path (leaving the repository, a symlink, not a regular file) falls back to the output. */
  private async junitReport(path: string): Promise<Record<string, TestState> | undefined> {
    try {
      return readJunitReport(this.layout.repo, path);
    } catch (err) {
      if (!(err instanceof PathRefusedError)) throw err;
      await this.emit('note', `testResults: ${err.message}; per-test results come from the test output`, { testResults: path });
      return undefined;
    }
  }

  // ---- agent loop --------------------------------------------------------------------------

  private async agentLoop(setupNotes: string[]): Promise<AgentEnd> {
    const model = this.deps.config.model;
    const conversation = new Conversation({
      modelId: model.id,
      system: systemPrompt({
        repo: this.run.repo,
        branch: this.branch!,
        baseBranch: this.baseBranch,
        protectedPaths: this.protectedPaths.globs,
        testCommand: this.testCommand,
        agentInstructions: readAgentInstructions(this.layout.repo),
        repoInstructions: this.repoFile.instructions,
      }),
      tools: toolSpecs(),
      maxTokens: model.maxOutputTokens,
      contextWindowTokens: model.contextWindowTokens,
    });
    const issue = this.run.issue !== null ? { number: this.run.issue, ...(await this.github.getIssue(this.run.issue)) } : undefined;
    conversation.addUser([{ text: taskMessage({ prompt: this.run.prompt, issue, setupNotes, baseTests: this.baseTests }) }]);

    for (this.turns = 1; this.turns <= model.maxTurns; this.turns++) {
      this.checkStop();
      const turn = this.turns;
      const request = conversation.buildRequest();
      const callId = `turn-${String(turn).padStart(4, '0')}`;
      // Compute so far first, so that the reservation's headroom check counts it.
      await this.chargeComputeSoFar();
      // Throws BudgetExhaustedError when the worst case does not fit: the call is never made.
      const worst = await this.budget.reserve(callId, conversation.estimateInputTokens(request));
      const started = Date.now();
      this.timings.firstModelCall ??= performance.now() - this.createdAt;
      let response;
      try {
        response = await this.deps.model.converse(request, this.deps.stop);
      } catch (err) {
        if (this.deps.stop.aborted) {
          await this.budget.settleAtWorst(callId, worst);
          throw new Interrupted('stopped during a model call');
        }
        await this.budget.release(callId);
        throw err;
      }
      const usage = usageOf(response);
      const costMicros = await this.budget.settle(callId, usage);
      const content = response.output.message.content as ContentBlock[];
      const toolUses = content.filter((b) => b.toolUse).map((b) => b.toolUse!);
      const text = content.map((b) => b.text ?? '').join('').trim();
      this.trace.record({ type: 'model_turn', turn, stopReason: response.stopReason, usage: { ...usage }, costMicros, durationMs: Date.now() - started, text, toolUses: toolUses.map((t) => ({ name: t.name!, input: t.input })) });
      this.metrics.emit({
        [runnerMetricNames.modelCalls]: 1,
        [runnerMetricNames.modelInputTokens]: usage.input,
        [runnerMetricNames.modelOutputTokens]: usage.output,
        [runnerMetricNames.modelCacheReadTokens]: usage.cacheRead,
        [runnerMetricNames.modelCacheWriteTokens]: usage.cacheWrite,
        [runnerMetricNames.modelCostMicros]: costMicros,
      });
      await this.emit('model_turn', `turn ${turn}: ${usage.input + usage.cacheRead + usage.cacheWrite} in, ${usage.output} out, $${microsToUsd(costMicros).toFixed(4)}`, {
        turn,
        stopReason: response.stopReason,
        tokens: usage,
        costMicros,
        tools: toolUses.map((t) => t.name),
      });
      await this.heartbeat();
      conversation.addAssistant(content);

      if (toolUses.length === 0) {
        if (response.stopReason === 'max_tokens') {
          conversation.addUser([{ text: 'Your reply was cut off at the output limit. Continue, using tools in smaller steps.' }]);
          continue;
        }
        return { kind: 'end_turn', text };
      }
      const results: ContentBlock[] = [];
      let control: ToolControl | undefined;
      for (const use of toolUses) {
        if (control) {
          results.push({ toolResult: { toolUseId: use.toolUseId!, content: [{ text: 'not run: the task already ended' }], status: 'error' } });
          continue;
        }
        const outcome = await executeTool(use.name!, use.input, {
          repoRoot: this.layout.repo,
          protectedPaths: this.protectedPaths,
          identity: this.identity,
          env: this.toolEnv,
          signal: this.deps.stop,
        });
        this.trace.record({ type: 'tool_call', turn, name: use.name!, input: use.input, durationMs: outcome.durationMs, exitCode: outcome.exitCode, isError: outcome.isError, output: outcome.text });
        this.metrics.emit({ [runnerMetricNames.toolCalls]: 1, ...(outcome.isError ? { [runnerMetricNames.toolFailures]: 1 } : {}) });
        await this.emit('tool_call', `${use.name}${outcome.exitCode !== null ? ` → exit ${outcome.exitCode}` : outcome.isError ? ' → refused' : ''} (${(outcome.durationMs / 1000).toFixed(1)} s)`, {
          turn,
          name: use.name,
          input: summarizeInput(use.input),
          exitCode: outcome.exitCode,
          isError: outcome.isError,
          timedOut: outcome.timedOut,
          durationMs: outcome.durationMs,
          output: outcome.text.slice(0, 2_000),
        });
        if (outcome.aborted) throw new Interrupted('stopped during a tool command');
        await this.heartbeat();
        results.push({ toolResult: { toolUseId: use.toolUseId!, content: [{ text: outcome.text }], status: outcome.isError ? 'error' : 'success' } });
        control = outcome.control;
      }
      conversation.addUser(results);
      if (control) return { kind: 'control', control };
    }
    return { kind: 'turn_limit' };
  }

  // ---- finish ------------------------------------------------------------------------------

  private async finish(agentEnd: AgentEnd): Promise<RunEnd> {
    if (agentEnd.kind === 'control' && agentEnd.control.kind === 'ask_human') {
      const question = agentEnd.control.question;
      const pushed = await this.pushWorkInProgress('question asked');
      await this.emit('note', `the agent asked a question: ${question}`, { question });
      return { kind: 'succeeded', result: { outcome: 'question', branch: pushed ? this.branch : null, prUrl: null, question, summary: `The agent stopped to ask: ${question}`.slice(0, 4_000) } };
    }
    const summary =
      agentEnd.kind === 'control' && agentEnd.control.kind === 'finish'
        ? agentEnd.control.summary
        : agentEnd.kind === 'end_turn'
          ? agentEnd.text || 'The agent ended without a summary.'
          : `The run stopped at the turn limit (${this.deps.config.model.maxTurns} model turns) before the agent finished.`;
    const risks = agentEnd.kind === 'control' && agentEnd.control.kind === 'finish' ? agentEnd.control.risks : agentEnd.kind === 'turn_limit' ? 'The agent did not finish: the change may be incomplete.' : null;

    const headTests = await this.runTests('head');
    await this.heartbeat();
    const staged = await this.stageChanges();
    if (!staged.changed) {
      await this.emit('note', 'no changes: nothing to commit, no pull request', {});
      return { kind: 'succeeded', result: { outcome: 'no_changes', branch: null, prUrl: null, question: null, summary: summary.slice(0, 4_000) } };
    }
    const title = pullRequestTitle(this.run.prompt);
    const commit = await this.git.commit(this.deps.redactor.redact(`${title}\n\n${summary}\n\nNightshift-Run: ${this.run.runId}`));
    this.checkBranchIsNotBase();
    await this.freshToken();
    await this.withHeartbeats(() => this.git.push(this.branch!));
    await this.emit('note', `pushed ${commit.slice(0, 12)} to ${this.branch}`, { commit, branch: this.branch });
    await this.heartbeat();

    await this.chargeCompute();
    // The tools' last network use was the head tests: the refusals are complete now.
    const blocked = await this.collectRefusedHosts();
    const totals = this.budget.totals;
    const body = this.deps.redactor.redact(
      pullRequestBody({
        runId: this.run.runId,
        prompt: this.run.prompt,
        issue: this.run.issue,
        summary,
        risks,
        changedFiles: staged.changes,
        refusedPaths: staged.refused,
        baseTests: this.baseTests,
        headTests,
        delta: testDelta(this.baseTests, headTests),
        baseCommit: this.baseCommit,
        usage: totals.usage,
        modelMicros: totals.modelMicros,
        computeMicros: this.computeCharged,
        replayed: this.deps.model.kind === 'replay' ? this.deps.model.description : null,
        blockedHosts: blockedHostsMarkdown(blocked),
      }),
    );
    const existing = await this.github.findOpenPull(this.branch!);
    const pr = existing ? await this.github.updatePull(existing.number, { title, body }) : await this.github.createDraftPull({ title, body, head: this.branch!, base: this.baseBranch });
    if (!existing && this.run.issue !== null) await this.github.commentOnIssue(this.run.issue, `Nightshift opened a draft pull request for this issue: ${pr.url}`);
    await this.patchRun({ prUrl: pr.url });
    await this.emit('note', `${existing ? 'updated' : 'opened'} draft pull request ${pr.url}`, { prUrl: pr.url, number: pr.number });
    return { kind: 'succeeded', result: { outcome: existing ? 'pr_updated' : 'pr_opened', branch: this.branch, prUrl: pr.url, question: null, summary: summary.slice(0, 4_000) } };
  }

  /** Stages everything except protected paths (a shell command may have changed them). */
  private async stageChanges(): Promise<{ changed: boolean; changes: { status: string; path: string }[]; refused: string[] }> {
    await this.git.stageAll();
    const all = await this.git.stagedChanges('HEAD');
    const refused = all.filter((c) => this.protectedPaths.match(c.path)).map((c) => c.path);
    if (refused.length) {
      await this.git.unstage(refused);
      await this.emit('note', `changes to protected paths were left out of the commit: ${refused.join(', ')}`, { refused });
    }
    // The head tests run agent-written code with the repo's secrets: a file that captured one is never pushed.
    const leaking = all.filter((c) => !refused.includes(c.path) && c.status !== 'D' && this.fileHoldsSecret(c.path)).map((c) => c.path);
    if (leaking.length) {
      await this.git.unstage(leaking);
      await this.emit('note', `files holding a secret value were left out of the commit: ${leaking.join(', ')}`, { leaking });
      refused.push(...leaking);
    }
    const changed = await this.git.hasStagedChanges();
    return { changed, changes: changed ? await this.git.stagedChanges('HEAD') : [], refused };
  }

  private fileHoldsSecret(path: string): boolean {
    try {
      const full = join(this.layout.repo, path);
      const stat = lstatSync(full);
      const text = stat.isSymbolicLink() ? readlinkSync(full) : stat.isFile() && stat.size <= 20 * 1024 * 1024 ? readFileSync(full, 'utf8') : '';
      return this.deps.redactor.containsKnownSecret(text);
    } catch {
      // Unreadable now: it cannot be committed as something we did not check.
      return true;
    }
  }

  /** Installation tokens live an hour: a long run asks the broker again before it pushes. */
  private async freshToken(): Promise<void> {
    if (Number.isFinite(this.tokenExpiresAt) && this.tokenExpiresAt - Date.now() > 10 * 60_000) return;
    const token = await this.deps.tokens.tokenFor(this.run.runId);
    this.deps.redactor.add(token.token);
    this.tokenExpiresAt = Date.parse(token.expiresAt);
    this.git.setToken(token.token);
    this.github = this.deps.github(token.token, this.run.repo, this.proxy?.url);
  }

  private checkBranchIsNotBase(): void {
    // Invariant 7: nothing is ever pushed to the base branch.
    if (!this.branch || this.branch === this.baseBranch) throw new RunFailure('branch_is_base', `refusing to push to the base branch ${this.baseBranch}`);
  }

  /** Commits whatever the agent changed and pushes it to the run branch. False when there was nothing. */
  private async pushWorkInProgress(reason: string): Promise<boolean> {
    if (!this.git || !this.branch || !this.run) return false;
    const staged = await this.stageChanges();
    if (!staged.changed) return false;
    const commit = await this.git.commit(this.deps.redactor.redact(`WIP: ${pullRequestTitle(this.run.prompt)}\n\nWork in progress, pushed because ${reason}.\n\nNightshift-Run: ${this.run.runId}`));
    this.checkBranchIsNotBase();
    await this.freshToken();
    await this.git.push(this.branch);
    await this.emit('note', `work in progress pushed to ${this.branch} (${reason})`, { commit, branch: this.branch, reason });
    return true;
  }

  // ---- endings -----------------------------------------------------------------------------

  private async endFromError(err: unknown): Promise<RunEnd> {
    if (err instanceof BudgetExhaustedError) {
      const pushed = await this.tryPushWorkInProgress('the budget is exhausted');
      const cause = `budget exhausted: the next model call needs up to $${microsToUsd(err.neededMicros).toFixed(4)}, $${microsToUsd(err.availableMicros).toFixed(4)} left${pushed ? `; work in progress pushed to ${this.branch}` : ''}`;
      await this.emit('note', cause, { neededMicros: err.neededMicros, availableMicros: err.availableMicros, pushed });
      return { kind: 'failed', error: 'Nightshift.BudgetExceeded', cause };
    }
    if (err instanceof Interrupted || err instanceof TaskNoLongerWaitedError || this.deps.stop.aborted) {
      const pushed = await this.tryPushWorkInProgress('the run was stopped');
      const cause = `${err instanceof Error ? err.message : 'stopped'}${pushed ? `; work in progress pushed to ${this.branch}` : ''}`;
      const cancelled = err instanceof Interrupted && /cancel-requested|CANCELLED/.test(err.message);
      return { kind: 'failed', error: cancelled ? 'Nightshift.Cancelled' : 'Nightshift.Interrupted', cause };
    }
    const code = err instanceof RunFailure ? err.code : err instanceof GitCommandError ? 'git_failed' : 'runner_error';
    const message = this.deps.redactor.redact(err instanceof Error ? err.message : String(err));
    this.log.error('run failed', { code, error: message, stack: err instanceof Error && !(err instanceof RunFailure) ? this.deps.redactor.redact(err.stack ?? '') : undefined });
    await this.emit('note', `run failed: ${code}: ${message}`, { code });
    return { kind: 'failed', error: 'Nightshift.RunFailed', cause: `${code}: ${message}`.slice(0, 900) };
  }

  private async tryPushWorkInProgress(reason: string): Promise<boolean> {
    try {
      return await this.pushWorkInProgress(reason);
    } catch (err) {
      this.log.error('could not push work in progress', { error: this.deps.redactor.redact((err as Error).message) });
      return false;
    }
  }

  /** Charges compute, stores the trace, then reports: the ledger is complete before finalize settles it. */
  private async wrapUp(end: RunEnd): Promise<void> {
    const chargeFailure = await this.chargeComputeWithRetries();
    if (chargeFailure) {
      // A cost that cannot be recorded is never reported as a clean success: the ledger would be short.
      const cause = `compute_charge_failed: ${chargeFailure}`;
      await this.emit('note', `could not charge compute to the run's budget: ${chargeFailure}`, { code: 'compute_charge_failed' }).catch(() => undefined);
      end = end.kind === 'succeeded' ? { kind: 'failed', error: 'Nightshift.RunFailed', cause } : { ...end, cause: `${end.cause}; ${cause}`.slice(0, 900) };
    }
    await this.collectRefusedHosts();
    try {
      const summary = this.trace.summary();
      const location = await this.trace.flush();
      const totals = this.budget.totals;
      await this.emit('trace', `trace stored (${summary.lines} lines)`, { location, ...summary, tokens: totals.usage, modelMicros: totals.modelMicros, computeMicros: this.computeCharged });
    } catch (err) {
      this.log.error('could not store the trace', { error: this.deps.redactor.redact((err as Error).message) });
    }
    try {
      if (end.kind === 'succeeded') await this.deps.callbacks.succeed({ ...end.result, summary: this.deps.redactor.redact(end.result.summary) });
      else await this.deps.callbacks.fail(end.error, this.deps.redactor.redact(end.cause));
    } catch (err) {
      // The state machine's heartbeat timeout and the backstop end the run if this report is lost.
      this.log.error('could not report to the state machine', { error: this.deps.redactor.redact((err as Error).message) });
    }
    this.log.info('run ended', { end: end.kind === 'succeeded' ? end.result.outcome : end.error });
    if (!this.deps.keepWorkspace) rmSync(this.layout.root, { recursive: true, force: true });
  }

  /**
   * The hosts the proxy refused during this run, into the run's events (once) and the EgressBlocked
   * metric. Reporting is for reviewers: a log that cannot be read is logged and noted, never fatal.
   */
  private collectRefusedHosts(): Promise<RefusedHost[]> {
    this.refused ??= (async () => {
      const egress = this.deps.egress;
      if (!egress || !this.proxy || !this.run) return [];
      if (!egress.accessLog) {
        await this.emit('note', 'egress: no proxy access log is configured (NIGHTSHIFT_PROXY_LOG_GROUP / NIGHTSHIFT_PROXY_ACCESS_LOG), so refused hosts are not reported', {});
        return [];
      }
      try {
        const hosts = await refusedHosts(egress.accessLog, runTrafficWindow(egress, this.proxy, this.startedAt, this.now()));
        await reportRefusedHosts(this.deps.events, this.run.runId, hosts);
        const count = hosts.reduce((n, h) => n + h.count, 0);
        if (count > 0) this.metrics.emit({ [runnerMetricNames.egressBlocked]: count });
        return hosts;
      } catch (err) {
        const message = this.deps.redactor.redact((err as Error).message);
        this.log.error('could not read the refused hosts', { error: message });
        await this.emit('note', `egress: could not read the proxy's refused hosts: ${message}`, {});
        return [];
      }
    })();
    return this.refused;
  }

  /** The compute charge is idempotent per charge id, so retrying it is safe; the last error's message, or undefined once charged. */
  private async chargeComputeWithRetries(attempts = 3): Promise<string | undefined> {
    let failure: string | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.chargeCompute();
        return undefined;
      } catch (err) {
        failure = this.deps.redactor.redact((err as Error).message);
        this.log.error('could not charge compute', { attempt, error: failure });
      }
    }
    return failure;
  }

  /**
   * Charges the compute used since the last charge. Called before every model call's reservation, so the
   * reservation's headroom check sees compute too, and once at the end: a run's overshoot of its budget is
   * bounded by one call's worst case plus the compute of its last phase (head tests, push).
   */
  private async chargeComputeSoFar(): Promise<void> {
    if (!this.pendingCompute) {
      const elapsed = Math.max(0, (this.now().getTime() - this.startedAt.getTime()) / 1_000);
      const seconds = Math.max(0, elapsed - this.computeChargedSeconds);
      const micros = computeMicros(seconds, this.deps.config.model.fargate);
      if (micros === 0) return;
      this.computeChargeSeq += 1;
      this.pendingCompute = { id: `compute-${this.startedAt.getTime()}-${this.computeChargeSeq}`, micros, seconds };
    }
    const charge = this.pendingCompute;
    await this.deps.ledger.charge(this.deps.runId, charge.id, charge.micros);
    this.pendingCompute = undefined;
    this.computeCharged += charge.micros;
    this.computeChargedSeconds += charge.seconds;
    this.metrics.emit({ [runnerMetricNames.computeCostMicros]: charge.micros });
  }

  /** The final compute charge, once; its note carries the run's compute total. */
  private async chargeCompute(): Promise<void> {
    if (this.computeFinal) return;
    await this.chargeComputeSoFar();
    this.computeFinal = true;
    await this.emit('note', `compute charged: ${this.computeChargedSeconds.toFixed(1)} s, $${microsToUsd(this.computeCharged).toFixed(6)}`, {
      computeSeconds: this.computeChargedSeconds,
      computeMicros: this.computeCharged,
    });
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private checkStop(): void {
    if (this.deps.stop.aborted) throw new Interrupted('stopped (SIGTERM)');
  }

  /**
   * Tells the state machine the run makes progress. A lost task (timed out, stopped) ends the run; any
   * other failure is logged and the next heartbeat tries again (HeartbeatSeconds catches a run that
   * never gets one through).
   */
  private async heartbeat(): Promise<void> {
    try {
      await this.deps.callbacks.heartbeat();
    } catch (err) {
      if (err instanceof TaskNoLongerWaitedError) throw err;
      this.log.warn('a heartbeat failed; the next one tries again', { error: this.deps.redactor.redact((err as Error).message) });
    }
  }

  /**
   * Runs one of the runner's own bounded phases (clone, a setup or test command, the push) with a
   * heartbeat every minute. The agent's tool commands never get one: a hung tool command must trip
   * HeartbeatSeconds. When the state machine no longer waits, the phase's command is aborted.
   */
  private async withHeartbeats<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
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
  private withinTimeBox(seconds: number): number {
    return Math.max(1, Math.min(seconds, this.run.maxMinutes * 60));
  }

  private async patchRun(patch: RunPatch): Promise<void> {
    try {
      await this.deps.runs.patch(this.deps.runId, patch);
    } catch (err) {
      if (err instanceof IllegalTransitionError) throw new Interrupted(`run is ${err.from}`);
      throw err;
    }
  }

  private async emit(type: Parameters<RunEventLog['append']>[1], message: string, detail: Record<string, unknown>): Promise<void> {
    const redactor = this.deps.redactor;
    try {
      await this.deps.events.append(this.deps.runId, type, redactor.redact(message), redactor.redactValue(detail));
    } catch (err) {
      // The timeline is for people; losing an entry must not end the run. It is still logged.
      this.log.warn('could not append a run event', { type, error: (err as Error).message });
    }
    this.log.info(message, { event: type });
  }
}

function summarizeInput(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input;
  return Object.fromEntries(Object.entries(input).map(([k, v]) => [k, typeof v === 'string' && v.length > 500 ? `${v.slice(0, 500)}…` : v]));
}

export function runWorkspaceDir(root: string, runId: string): string {
  return join(root, runId);
}
