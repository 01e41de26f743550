import { createHash } from 'node:crypto';
import type { NightshiftConfig } from '../config/schema';
import { repoSettings } from '../config/load';
import {
  BranchCheckUnavailableError,
  BranchNotAllowedError,
  ExecutionStartError,
  IntakePausedError,
  RepoNotAllowedError,
  RequestLimitError,
  ReviewNotAllowedError,
} from '../errors';
import { firstCallWorstCaseMicros, usdToMicros, zeroUsage } from '../pricing';
import { ledgerDay } from './run-record';
import type { BudgetLedgerPort, IntakeFlagPort, RunRecord } from '../store/ports';
import type { ThreadStorePort } from '../store/thread-store-port';
import { continueBranchRefusal, reviewPullRefusal, type BranchFactsPort, type PullFactsPort } from './branch-ownership';
import { ExecutionInput } from './execution';
import { finalizeRun, type FinalizeDeps } from './finalize';
import type { RunSource } from './lifecycle';
import { newRunId } from './run-id';
import { SubmitRunRequest } from './schemas';
import { threadCommittedMicros } from './threads';

export interface SubmitDeps extends FinalizeDeps {
  config: NightshiftConfig;
  ledger: BudgetLedgerPort;
  intake: IntakeFlagPort;
  /** Starts the run's state machine execution, named by `input.runId`. */
  startExecution(input: ExecutionInput): Promise<void>;
  newRunId?: () => string;
  /** GitHub threads (adapters/dynamodb/threads.ts): needed only to submit runs that name a `thread`. */
  threads?: ThreadStorePort;
  /** What GitHub says about a branch: needed only to submit runs that name a `branch` to continue. */
  branchFacts?: BranchFactsPort;
  /** What GitHub says about a pull request: needed only to submit review runs (`kind: review`). */
  pullFacts?: PullFactsPort;
}

export interface SubmitInput {
  request: SubmitRunRequest;
  requester: string;
  source: RunSource;
  idempotencyKey?: string;
  /** `owner/name#N` of the issue or pull request the run comes from (GitHub triggers only). */
  thread?: string;
}

export interface SubmitResult {
  runId: string;
  status: 'QUEUED';
}

/** What the Idempotency-Key protects: the request, independent of key order. */
export function requestHash(request: SubmitRunRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The run's effective limits: the request's values, else the repo's, else the config's defaults,
 * checked against the caps. Pure.
 */
export function effectiveLimits(config: NightshiftConfig, request: SubmitRunRequest) {
  const repo = repoSettings(config, request.repo);
  if (!repo) throw new RepoNotAllowedError(request.repo);
  // A review reads a diff: its own default (budgets.reviewUsd), not the repo's change budget.
  const budgetUsd = request.budgetUsd ?? (request.kind === 'review' ? config.budgets.reviewUsd : repo.budgetUsd);
  if (!(budgetUsd > 0)) throw new RequestLimitError('budgetUsd', 'must be greater than 0');
  if (budgetUsd > config.budgets.maxPerRunUsd)
    throw new RequestLimitError('budgetUsd', `must not exceed budgets.maxPerRunUsd (${config.budgets.maxPerRunUsd})`);
  const budgetMicros = usdToMicros(budgetUsd);
  if (budgetMicros < 1) throw new RequestLimitError('budgetUsd', 'must be at least 0.000001');
  const firstCall = firstCallWorstCaseMicros(request.prompt, config.model);
  if (budgetMicros < firstCall) {
    // Rounded up to the cent, so the amount named is enough when given back.
    const needed = Math.ceil(firstCall / 10_000) / 100;
    throw new RequestLimitError(
      'budgetUsd',
      `must be at least $${needed.toFixed(2)}: one model call can cost up to that (${config.model.maxOutputTokens} output tokens at $${config.model.prices.output} per million, plus the prompt, system prompt and tools as input), and the run reserves it before its first call`,
    );
  }
  const maxMinutes = request.maxMinutes ?? repo.maxMinutes;
  if (maxMinutes > config.timeouts.maxMinutes)
    throw new RequestLimitError('maxMinutes', `must not exceed timeouts.maxMinutes (${config.timeouts.maxMinutes})`);
  return { repo, budgetMicros, maxMinutes };
}

/**
 * Invariant 7 at submit, before anything is written: GitHub is asked about the branch and the runner's
 * push rule applied to its answer. When GitHub cannot answer the submission is refused as retryable
 * (the run could not clone or push anyway, and a refusal leaves nothing to clean up).
 */
async function assertBranchCanBeContinued(
  deps: SubmitDeps,
  repo: string,
  request: { branch: string; baseBranch: string | undefined },
): Promise<void> {
  if (!deps.branchFacts) throw new Error('a run that continues a branch needs the branch facts lookup');
  let facts: Awaited<ReturnType<BranchFactsPort>>;
  try {
    facts = await deps.branchFacts(repo, request.branch);
  } catch (err) {
    throw new BranchCheckUnavailableError(request.branch, { cause: err });
  }
  const refusal = continueBranchRefusal(request, facts);
  if (refusal) throw new BranchNotAllowedError(request.branch, refusal);
}

/** A review run's pull request must be open and from this repository, asked of GitHub before anything is written. */
async function assertPullCanBeReviewed(deps: SubmitDeps, repo: string, pr: number): Promise<void> {
  if (!deps.pullFacts) throw new Error('a review run needs the pull request facts lookup');
  let facts: Awaited<ReturnType<PullFactsPort>>;
  try {
    facts = await deps.pullFacts(repo, pr);
  } catch (err) {
    throw new BranchCheckUnavailableError(`of pull request #${pr}`, { cause: err });
  }
  const refusal = reviewPullRefusal(repo, pr, facts);
  if (refusal) throw new ReviewNotAllowedError(pr, refusal);
}

/**
 * Accepts a run: checks policy, reserves its whole budget against the requester's and the org's day,
 * stores it QUEUED and starts its execution. Nothing is left half-written: a reservation is undone if
 * the run cannot be stored, and a run whose execution cannot start is ended FAILED with its budget returned.
 */
export async function submitRun(deps: SubmitDeps, input: SubmitInput): Promise<SubmitResult> {
  const request = SubmitRunRequest.parse(input.request);
  const { config } = deps;
  const { repo, budgetMicros, maxMinutes } = effectiveLimits(config, request);

  const intake = await deps.intake.get();
  if (intake.paused) throw new IntakePausedError(intake.reason);
  if (request.branch !== undefined)
    await assertBranchCanBeContinued(deps, repo.name, { branch: request.branch, baseBranch: request.baseBranch });
  if (request.kind === 'review' && request.pr !== undefined) await assertPullCanBeReviewed(deps, repo.name, request.pr);

  const now = deps.now?.() ?? new Date();
  const runId = (deps.newRunId ?? newRunId)();
  const day = ledgerDay(now);
  const thread = input.thread;
  if (thread !== undefined) {
    // budgets.perThreadUsd caps what all of a thread's runs commit together; a refusal throws ThreadBudgetError.
    if (!deps.threads) throw new Error('a run with a thread needs the thread store');
    await deps.threads.reserve({
      thread,
      runId,
      budgetMicros,
      capMicros: usdToMicros(config.budgets.perThreadUsd),
      committedOf: (runs) => threadCommittedMicros(deps.runs, runs),
    });
  }
  const releaseThread = async () => {
    if (thread !== undefined) await deps.threads?.release(thread, runId);
  };
  try {
    await deps.ledger.reserveRun({
      runId,
      requester: input.requester,
      day,
      budgetMicros,
      limits: {
        requesterDailyMicros: usdToMicros(config.budgets.perRequesterDailyUsd),
        orgDailyMicros: usdToMicros(config.budgets.dailyUsd),
      },
    });
  } catch (err) {
    await releaseThread();
    throw err;
  }

  const record: RunRecord = {
    runId,
    kind: 'run',
    repo: repo.name,
    status: 'QUEUED',
    outcome: null,
    source: input.source,
    requester: input.requester,
    prompt: request.prompt,
    baseBranch: request.baseBranch ?? null,
    branch: request.branch ?? null,
    issue: request.issue ?? null,
    labels: request.labels ?? [],
    createdAt: now.toISOString(),
    startedAt: null,
    finishedAt: null,
    prUrl: null,
    maxMinutes,
    queuePosition: null,
    cancelRequested: false,
    error: null,
    tokens: { ...zeroUsage },
    budgetMicros,
    spentMicros: 0,
    ledgerDay: day,
    settled: false,
    requestHash: input.idempotencyKey === undefined ? null : requestHash(request),
    thread: thread ?? null,
    ...(request.kind === 'review' ? { runKind: 'review' as const, pr: request.pr ?? null } : {}),
    ...(request.plan === true ? { plan: true } : {}),
    // `normal` is the default and stays implicit, as on runs stored before priorities.
    ...(request.priority !== undefined && request.priority !== 'normal' ? { priority: request.priority } : {}),
  };
  try {
    await deps.runs.create(record);
  } catch (err) {
    await deps.ledger.releaseRunReservation({ runId, requester: input.requester, day, budgetMicros });
    await releaseThread();
    throw err;
  }

  try {
    await deps.events.append(runId, 'status', `queued by ${input.requester} (${input.source})`, {
      to: 'QUEUED',
      source: input.source,
      budgetMicros,
      maxMinutes,
    });
    await deps.startExecution(
      ExecutionInput.parse({
        runId,
        repo: repo.name,
        timeoutSeconds: maxMinutes * 60,
        heartbeatSeconds: config.timeouts.noProgressMinutes * 60,
        answerSeconds: config.timeouts.answerHours * 3600,
        capacityProvider: repo.spot ? 'FARGATE_SPOT' : 'FARGATE',
      }),
    );
  } catch (err) {
    // The run exists but will never be admitted: end it so its budget comes back and nothing waits on it.
    // Its execution never started, so there is no task to stop (and the submit role may not stop executions).
    try {
      await finalizeRun(
        { ...deps, stopRunTasks: async () => undefined },
        {
          runId,
          status: 'FAILED',
          reason: { code: 'execution_start_failed', message: 'the run could not be started' },
        },
      );
    } catch (cleanupErr) {
      throw new AggregateError([err, cleanupErr], `run ${runId} could not be started, nor ended`);
    }
    throw new ExecutionStartError(runId, { cause: err });
  }
  return { runId, status: 'QUEUED' };
}
