import type { TokenUsage } from '../pricing';
import type { RunStatus } from '../runs/lifecycle';
import type { RunPatch, RunRecord } from '../runs/run-record';
import type { RunEvent, RunEventType } from '../runs/schemas';

/**
 * The contracts of the persistence layer. Implementations live beside this file (DynamoDB via
 * lib-dynamodb; dynalite offline). Everything that touches money or slots is a single-item
 * conditional write, safe under any number of concurrent callers.
 */

export type { PullRequestOutcome, RunPatch, RunRecord } from '../runs/run-record';

export interface RunListQuery {
  status?: RunStatus;
  repo?: string;
  requester?: string;
  /** 1..100 */
  limit: number;
  /** Opaque cursor from a previous page; a malformed one throws `InvalidCursorError`. */
  cursor?: string;
}

export interface RunPage {
  runs: RunRecord[];
  nextCursor: string | null;
}

export interface RunRepository {
  /** Conditional on the id being new. */
  create(run: RunRecord): Promise<void>;
  get(runId: string): Promise<RunRecord | undefined>;
  /**
   * Moves the run to `to` if the lifecycle allows it from the stored status (a conditional write),
   * applying `patch` in the same write. Throws `IllegalTransitionError` otherwise, `RunNotFoundError` if absent.
   */
  transition(runId: string, to: RunStatus, patch?: RunPatch): Promise<RunRecord>;
  /**
   * Updates fields without a status change; refused (IllegalTransitionError) once the run is terminal
   * unless `allowTerminal`, and, with `whileStatus`, unless the run is in that status (a conditional write).
   */
  patch(runId: string, patch: RunPatch, options?: { allowTerminal?: boolean; whileStatus?: RunStatus }): Promise<RunRecord>;
}

/**
 * The run list (GET /v1/runs, the run gauges, local recovery): apart from the repository's writes, so
 * a function that never lists does not carry the list's index reads (adapters/dynamodb/run-list.ts).
 */
export interface RunLister {
  list(query: RunListQuery): Promise<RunPage>;
}

/** A run repository that also lists. */
export type ListingRunRepository = RunRepository & RunLister;

/**
 * What a runner does with its own run, and nothing more: read it, mark it RUNNING (the clock is the
 * writer's), record the run branch and the pull request. On AWS this is the token broker, which checks
 * the run key first (runner/broker-run-data.ts); `runnerRunAccess` is the same over a store.
 */
export interface RunnerRunAccess {
  get(runId: string): Promise<RunRecord | undefined>;
  start(runId: string): Promise<RunRecord>;
  patch(runId: string, patch: Pick<RunPatch, 'branch' | 'prUrl'>): Promise<RunRecord>;
}
export type RunnerEventLog = Pick<RunEventLog, 'append'>;
export type RunnerLedger = Pick<BudgetLedgerPort, 'reserveCall' | 'settleCall' | 'charge'>;

/**
 * Run keys (core/runs/run-key.ts): `issue` stores the hash of a new key on a STARTING or RUNNING run
 * and returns the key (the only time it exists in the clear); `verify` says whether a presented key is
 * the run's current one, in constant time. RunNotFoundError when the run does not exist.
 */
export interface RunKeysPort {
  issue(runId: string): Promise<string>;
  verify(runId: string, presented: string): Promise<boolean>;
}

export interface EventQuery {
  limit: number;
  cursor?: string;
}

export interface RunEventLog {
  append(runId: string, type: RunEventType, message: string, detail?: Record<string, unknown>): Promise<RunEvent>;
  list(runId: string, query: EventQuery): Promise<{ events: RunEvent[]; nextCursor: string | null }>;
}

export interface DailyLimits {
  requesterDailyMicros: number;
  orgDailyMicros: number;
}

export interface BudgetLedgerPort {
  /**
   * Reserves a run's whole budget against its requester's day and the org's day (both conditional;
   * the first is undone if the second fails). Throws `BudgetRefusedError` naming the scope that refused.
   * Idempotent while the run is active; called once per run id, before the run item exists (a day keeps
   * no record of finished runs, adapters/dynamodb/ledger-day.ts).
   */
  reserveRun(input: { runId: string; requester: string; day: string; budgetMicros: number; limits: DailyLimits }): Promise<void>;
  /** Undoes `reserveRun` for a run that was never created (submit failed after reserving). Idempotent per run id. */
  releaseRunReservation(input: { runId: string; requester: string; day: string; budgetMicros: number }): Promise<void>;
  /**
   * Reserves one model call's worst case inside the run's budget (spent + in flight + worst ≤ budget).
   * Throws `BudgetExhaustedError` when it does not fit. Idempotent per callId.
   */
  reserveCall(runId: string, callId: string, worstMicros: number): Promise<void>;
  /** Replaces a call's reservation with its real cost and adds its tokens. Exactly once per callId. */
  settleCall(runId: string, callId: string, actualMicros: number, usage: TokenUsage): Promise<void>;
  /** Charges compute time (or any non-model cost) to the run. Exactly once per chargeId. */
  charge(runId: string, chargeId: string, micros: number): Promise<void>;
  /**
   * Ends the run's ledger: moves calls still in flight to `droppedCalls` (their worst case stays on the
   * days until they settle late), and returns the unused budget (budget - spent - in flight, never
   * negative) to the requester's and the org's day, exactly once however often called. Costs recorded
   * after settle (late calls, charges) are added to the days too, once each.
   */
  settleRun(runId: string): Promise<{ refundedMicros: number; spentMicros: number }>;
  /**
   * Adds `extraMicros` to an unsettled run's budget and to its reservation on its requester's and the
   * org's day (the days of its submission, whose limits it must fit, like a submission), at most once
   * per `extensionId`. Throws `BudgetRefusedError` naming the day that refused, or
   * `BudgetExtensionRefusedError` (the run ended, or the budget would pass `maxBudgetMicros`).
   */
  extendRun(input: {
    runId: string;
    extensionId: string;
    extraMicros: number;
    maxBudgetMicros: number;
    limits: DailyLimits;
  }): Promise<{ budgetMicros: number }>;
}

export interface SlotCaps {
  global: number;
  perRepo: number;
  /** `concurrency.perRequester`: parallel agents per person; unset: no per-requester semaphore. */
  perRequester?: number | undefined;
}

/** How many runs hold each semaphore: the global one, and the named repositories' (lower-cased) and requesters'. */
export interface SlotOccupancy {
  global: number;
  repos: Record<string, number>;
  requesters: Record<string, number>;
}

export interface ConcurrencySlotsPort {
  /**
   * Takes a global and a per-repo slot for the run (and its requester's, with `caps.perRequester`, which
   * then needs `requester`), or none. Idempotent for a run that already holds them.
   */
  acquire(runId: string, repo: string, caps: SlotCaps, requester?: string): Promise<boolean>;
  /** Frees whatever the run holds (its requester's slot too when `requester` is given); releasing twice or releasing a non-holder changes nothing. */
  release(runId: string, repo: string, requester?: string): Promise<void>;
  /** Holder counts of the global semaphore and of these repositories' and requesters' (the queue's wake-up, core/runs/queue-wake.ts). */
  occupancy(repos: readonly string[], requesters: readonly string[]): Promise<SlotOccupancy>;
  /** Run ids holding a slot (global), for tests, recovery and the dashboard. */
  holders(): Promise<string[]>;
  /** Run ids holding one semaphore: a repository's, or the global one (`null`). For the slot reconciler. */
  semaphoreHolders(repo: string | null): Promise<string[]>;
  /** Frees the run's place in one semaphore only (a repository's, or the global one); idempotent. */
  releaseSemaphore(runId: string, repo: string | null): Promise<void>;
}

export interface IntakeFlagPort {
  /** The spend circuit breaker: when paused, submissions are refused with 503. */
  get(): Promise<{ paused: boolean; reason: string | null; at: string | null }>;
  set(paused: boolean, reason: string | null): Promise<void>;
}
