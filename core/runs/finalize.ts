import type { InboxStore } from '../store/inbox-store-port';
import { runOutcomeItem } from '../inbox/run-outcome-item';
import { announceItem, type InboxNotifier } from '../inbox/inbox-notification';
import type { BudgetLedgerPort, ConcurrencySlotsPort, RunEventLog, RunPatch, RunRecord, RunRepository } from '../store/ports';
import { emitAll, type MetricsSink } from '../metrics/emf';
import { runEndedMetrics } from '../metrics/run-metrics';
import { RunNotFoundError } from '../errors';
import { IllegalTransitionError, isTerminal, type TerminalStatus } from './lifecycle';
import type { RunError, RunnerResult } from './schemas';
import type { RunQueuePort } from '../store/run-queue-port';
import type { QueueWaker } from './queue-wake';
import { leaveQueue, type QueueMoveDeps } from './queue-moves';

export interface FinalizeDeps {
  runs: RunRepository;
  events: RunEventLog;
  ledger: BudgetLedgerPort;
  slots: ConcurrencySlotsPort;
  /** The run queue: an ended run leaves it (a run cancelled while QUEUED has an entry). */
  queue: Pick<RunQueuePort, 'remove'>;
  /** The queue moves GitHub status comments follow (core/runs/queue-moves.ts). */
  announceQueueMoved?: QueueMoveDeps['announceQueueMoved'];
  /** Wakes the queued runs the freed slots can admit (core/runs/queue-wake.ts); none: the sweep finds them. */
  wakeQueue?: QueueWaker;
  /**
   * Open items a paused run waited on are closed when it ends (expired when no answer came in time),
   * and the run's `pr_ready` or `failed` item is created (core/inbox/run-outcome-item.ts).
   */
  inbox: InboxStore;
  /** Stops whatever compute the run still has (its Fargate task, or a local runner process). Idempotent. */
  stopRunTasks(runId: string): Promise<void>;
  now?: () => Date;
  /** Where the ended run's metrics go (core/metrics/catalog.ts); written once, by the call that ends the run. */
  metrics?: MetricsSink;
  /** Announces the run's new `pr_ready` or `failed` item (the inbox topic on AWS, the outbox locally), as Pause announces its items. */
  notify?: Pick<InboxNotifier, 'itemCreated'>;
}

export interface FinalizeInput {
  runId: string;
  status: TerminalStatus;
  reason: RunError;
  result?: RunnerResult;
}

export interface FinalizeOutcome {
  run: RunRecord;
  /** False when the run was already terminal: this call only re-ran the idempotent clean-up. */
  transitioned: boolean;
}

/** The error a run shows: none for a run that succeeded, except the question it stopped at. */
function runError(input: FinalizeInput): RunError | null {
  if (input.status !== 'SUCCEEDED') return input.reason;
  return input.result?.outcome === 'question' ? { code: 'question', message: input.result.question ?? input.reason.message } : null;
}

/** Runs every step even if an earlier one failed: a failed task stop must never keep a slot or the budget held. */
async function cleanUp(steps: Array<() => Promise<unknown>>): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  return errors;
}

/**
 * Ends a run on every path (runner success or failure, timeout, cancel, backstop). Clean-up runs first
 * and on every call, each step idempotent and attempted whatever the others did: stop its tasks, free
 * its slots, return its unused budget exactly once, close the inbox items it waited on. Then the terminal status is written once,
 * conditionally; a run that is already terminal keeps the status it has, so calling this again changes
 * nothing; the run's `pr_ready` or `failed` item is created after it. If a clean-up step failed, the status is still written and then an AggregateError of the
 * failures is thrown, so the state machine's Retry (or the backstop) runs the clean-up again.
 */
export async function finalizeRun(deps: FinalizeDeps, input: FinalizeInput): Promise<FinalizeOutcome> {
  const run = await deps.runs.get(input.runId);
  if (!run) throw new RunNotFoundError(input.runId);

  const closeAs = input.reason.code === 'no_answer' ? 'expired' : 'closed';
  const failures = await cleanUp([
    () => deps.stopRunTasks(run.runId),
    () => deps.slots.release(run.runId, run.repo, run.requester),
    () => leaveQueue(deps, run.runId),
    // At once, so a freed slot is taken within the second; a run of a thread that waits for this one is woken below.
    async () => deps.wakeQueue?.(),
    () => deps.ledger.settleRun(run.runId),
    () => deps.inbox.closeWaiting(run.runId, closeAs, (deps.now?.() ?? new Date()).toISOString()),
  ]);
  const outcome = await endRun(deps, input, run);
  // After the terminal status, so a run of the same thread that waited for this one sees it ended.
  if (run.thread != null) await deps.wakeQueue?.({ includeHeld: true });
  // On every call, with an id of its own derived from the run: a retry or the backstop creates it once.
  const item = runOutcomeItem(outcome.run);
  if (item) {
    // Announced by the call that creates it: a retry (or the backstop after the state machine) finds it and says nothing.
    const isNew = (await deps.inbox.get(item.itemId)) === undefined;
    const created = await cleanUp([() => deps.inbox.create(item)]);
    failures.push(...created);
    if (isNew && created.length === 0) await announceItem(deps, item, outcome.run, 'itemCreated');
  }
  if (failures.length > 0)
    throw new AggregateError(failures, `run ${run.runId}: ${failures.length} clean-up step(s) failed; ${outcome.run.status} written`);
  return outcome;
}

async function endRun(deps: FinalizeDeps, input: FinalizeInput, run: RunRecord): Promise<FinalizeOutcome> {
  if (isTerminal(run.status)) return { run, transitioned: false };

  const patch: RunPatch = {
    finishedAt: (deps.now?.() ?? new Date()).toISOString(),
    queuePosition: null,
    error: runError(input),
  };
  if (input.result) {
    patch.outcome = input.result.outcome;
    if (input.result.prUrl !== null) patch.prUrl = input.result.prUrl;
    if (input.result.branch !== null) patch.branch = input.result.branch;
  }

  let ended: RunRecord;
  try {
    ended = await deps.runs.transition(run.runId, input.status, patch);
  } catch (err) {
    // Another finalizer (the state machine and the backstop can race) got there first.
    if (err instanceof IllegalTransitionError) {
      const current = await deps.runs.get(run.runId);
      if (current && isTerminal(current.status)) return { run: current, transitioned: false };
    }
    throw err;
  }
  await deps.events.append(run.runId, 'status', `${run.status} → ${input.status}: ${input.reason.message}`, {
    from: run.status,
    to: input.status,
    reason: input.reason,
    ...(input.result ? { outcome: input.result.outcome, prUrl: input.result.prUrl } : {}),
  });
  if (deps.metrics) emitAll(deps.metrics, runEndedMetrics(ended));
  return { run: ended, transitioned: true };
}
