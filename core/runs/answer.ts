import { decideResolution, SYSTEM_RESOLVER, type InboxItemView, type InboxResolution, type ResolveInboxRequest } from '../inbox/inbox-item';
import { InboxItemNotOpenError } from '../errors';
import { toInboxView, type InboxStore, type StoredInboxItem } from '../store/inbox-store-port';
import type { NightshiftConfig } from '../config/schema';
import { budgetApprovedNote } from '../inbox/budget-approval';
import { pauseResolutionEffect, type PauseResolutionEffect } from '../inbox/pause-resolution';
import { usdToMicros } from '../pricing';
import type { BudgetLedgerPort, RunEventLog, RunRecord, RunRepository } from '../store/ports';
import type { ThreadStorePort } from '../store/thread-store-port';
import { threadCommittedMicros } from './threads';
import { maySeeRun, type RunAccess } from './access';
import { IllegalTransitionError } from './lifecycle';
import { ThreadBudgetError } from '../errors';
import { announceItem, type InboxNotifier } from '../inbox/inbox-notification';

/** No such item, or one the caller may not see (HTTP 404 either way: ids are not confirmed to strangers). */
export class InboxItemNotFoundError extends Error {
  constructor(readonly itemId: string) {
    super(`inbox item ${itemId} not found`);
    this.name = 'InboxItemNotFoundError';
  }
}

/** The request does not fit the item's type (HTTP 400). */
export class InvalidResolutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResolutionError';
  }
}

/** The item was resolved otherwise, or its run no longer waits (HTTP 409). */
export class InboxConflictError extends Error {
  constructor(
    readonly itemId: string,
    message: string,
  ) {
    super(message);
    this.name = 'InboxConflictError';
  }
}

export interface AnswerDeps {
  inbox: InboxStore;
  runs: RunRepository;
  events: RunEventLog;
  /** SendTaskSuccess on the token the run's execution waits on. Rejects when the execution no longer waits. */
  sendTaskSuccess(token: string, output: string): Promise<void>;
  /** SendTaskFailure: a rejection ends the run through the wait state's Catch (Finalize). */
  sendTaskFailure(token: string, error: string, cause: string): Promise<void>;
  /** An approved budget_approval reserves its extra budget like a submission (the ledger, the limits, the thread). */
  config: Pick<NightshiftConfig, 'budgets'>;
  ledger: Pick<BudgetLedgerPort, 'extendRun'>;
  threads?: ThreadStorePort;
  now?: () => Date;
  /**
   * Announces an item resolved here whose run came from GitHub (the inbox topic, for the webhook
   * function: the status comment leaves "waiting" at once). Absent where the resolution is already
   * written on GitHub by its caller (the webhook function itself).
   */
  notify?: Pick<InboxNotifier, 'itemResolved'>;
}

export { BUDGET_DECLINED_ERROR, PLAN_REJECTED_ERROR } from '../inbox/pause-resolution';

export interface ResolveInput {
  itemId: string;
  /** Who calls and whether it is an admin (core/runs/access.ts). */
  access: RunAccess;
  request: ResolveInboxRequest;
}

/**
 * Resolves an inbox item (`POST /v1/inbox/{itemId}`). Idempotent: the same resolution of a resolved
 * item answers the item again and changes nothing; another one is a conflict. For an item a paused
 * run waits on, the run is re-queued (WAITING_FOR_HUMAN → QUEUED, with the answer on its `resume`)
 * before the execution's token is completed, so the task that starts next finds the answer.
 */
export async function resolveInboxItem(deps: AnswerDeps, input: ResolveInput): Promise<InboxItemView> {
  const item = await deps.inbox.get(input.itemId);
  // The run's requester or an admin, as for the run itself; anyone else cannot tell the item exists.
  if (!item || !maySeeRun(input.access, item)) throw new InboxItemNotFoundError(input.itemId);
  const decision = decideResolution(item, input.request);
  switch (decision.kind) {
    case 'invalid':
      throw new InvalidResolutionError(decision.reason);
    case 'same':
      return toInboxView(item);
    case 'conflict':
      throw new InboxConflictError(item.itemId, decision.reason);
    case 'resolve':
      break;
  }
  const resolver = input.access.caller.requester;
  // What the resolution does to a paused run (core/inbox/pause-resolution.ts); nothing for an item no run waits on.
  let effect: PauseResolutionEffect | undefined;
  if (item.taskToken !== null) {
    const run = await checkRunWaits(deps, item);
    effect = pauseResolutionEffect(item, decision.resolution, resolver);
    // More budget is reserved before the item is resolved: a refusal (limits, maxPerRunUsd, the
    // thread) leaves it open to approve a smaller amount or reject. Once per item (the extension id).
    if (effect.kind === 'extend_budget') effect = { kind: 'resume', answer: await extendBudget(deps, run, item, effect.extraBudgetUsd) };
  }

  let resolved: StoredInboxItem;
  try {
    resolved = await deps.inbox.resolve(item.itemId, decision.resolution, resolver, (deps.now?.() ?? new Date()).toISOString());
  } catch (err) {
    // Resolved by someone else in the meantime: decide again against what they wrote.
    if (err instanceof InboxItemNotOpenError) return resolveInboxItem(deps, input);
    throw err;
  }
  if (resolved.taskToken !== null && effect) {
    if (effect.kind === 'end') await endRejected(deps, resolved, effect.error, effect.cause);
    else if (effect.kind === 'resume') await resumeRun(deps, resolved, decision.resolution, effect.answer);
  }
  return toInboxView(resolved);
}

async function checkRunWaits(deps: AnswerDeps, item: StoredInboxItem): Promise<RunRecord> {
  const run = await deps.runs.get(item.runId);
  if (run?.status !== 'WAITING_FOR_HUMAN' || run.resume?.itemId !== item.itemId) {
    throw new InboxConflictError(item.itemId, `run ${item.runId} no longer waits for this item (it is ${run?.status ?? 'gone'})`);
  }
  if (run.cancelRequested) throw new InboxConflictError(item.itemId, `run ${item.runId} is being cancelled`);
  return run;
}

/**
 * Approving more budget: within `budgets.maxPerRunUsd` for the run's whole budget, on the run's ledger
 * day within the requester's and the org's day limits (both reserved, as a submission reserves), and,
 * for a run of a GitHub thread, within `budgets.perThreadUsd` for the thread's runs together.
 * Returns the note the resumed run is told.
 */
async function extendBudget(deps: AnswerDeps, run: RunRecord, item: StoredInboxItem, extraUsd: number): Promise<string> {
  const { budgets } = deps.config;
  const extraMicros = usdToMicros(extraUsd);
  if (run.thread && deps.threads) {
    const state = await deps.threads.get(run.thread);
    const committed = await threadCommittedMicros(deps.runs, state?.runs ?? {});
    if (committed + extraMicros > usdToMicros(budgets.perThreadUsd))
      throw new ThreadBudgetError(run.thread, committed, usdToMicros(budgets.perThreadUsd));
  }
  const { budgetMicros } = await deps.ledger.extendRun({
    runId: run.runId,
    extensionId: item.itemId,
    extraMicros,
    maxBudgetMicros: usdToMicros(budgets.maxPerRunUsd),
    limits: { requesterDailyMicros: usdToMicros(budgets.perRequesterDailyUsd), orgDailyMicros: usdToMicros(budgets.dailyUsd) },
  });
  await deps.events.append(
    run.runId,
    'note',
    `budget raised by $${extraUsd.toFixed(2)} to $${(budgetMicros / 1_000_000).toFixed(2)} (${item.type} approved)`,
    { itemId: item.itemId, extraMicros, budgetMicros },
  );
  return budgetApprovedNote(extraUsd, budgetMicros);
}

/** A rejection: the wait fails with the reason's error, and Finalize ends the run (its WIP stays on the branch). */
async function endRejected(deps: AnswerDeps, item: StoredInboxItem, error: string, cause: string): Promise<void> {
  await deps.events.append(item.runId, 'note', `${item.type} rejected by ${item.resolvedBy ?? SYSTEM_RESOLVER}`, {
    itemId: item.itemId,
    action: 'reject',
  });
  await deps.sendTaskFailure(item.taskToken!, error, cause);
}

async function resumeRun(deps: AnswerDeps, item: StoredInboxItem, resolution: InboxResolution, resumeWith: string): Promise<void> {
  const run = await deps.runs.get(item.runId);
  if (!run?.resume || run.resume.itemId !== item.itemId)
    throw new InboxConflictError(item.itemId, `run ${item.runId} no longer waits for this item`);
  const answeredAt = (deps.now?.() ?? new Date()).toISOString();
  try {
    await deps.runs.transition(run.runId, 'QUEUED', {
      queuePosition: null,
      resume: {
        ...run.resume,
        answer: resumeWith,
        ...(resolution.action === 'approve' || resolution.action === 'reject' || resolution.action === 'answer'
          ? { action: resolution.action }
          : {}),
        answeredAt,
      },
    });
  } catch (err) {
    // Ended (cancelled, no answer in time) between our check and this write.
    if (err instanceof IllegalTransitionError)
      throw new InboxConflictError(item.itemId, `run ${run.runId} is ${err.from}: the answer came too late`);
    throw err;
  }
  await deps.events.append(
    run.runId,
    'status',
    `WAITING_FOR_HUMAN → QUEUED: ${item.type} ${resolution.action} by ${item.resolvedBy ?? SYSTEM_RESOLVER}`,
    {
      from: 'WAITING_FOR_HUMAN',
      to: 'QUEUED',
      itemId: item.itemId,
      action: resolution.action,
    },
  );
  // The execution goes on to Admit; if it stopped waiting meanwhile (timed out), Finalize ends the QUEUED run.
  await deps.sendTaskSuccess(item.taskToken!, JSON.stringify({ itemId: item.itemId, action: resolution.action }));
  // A GitHub run's status comment leaves "waiting" at once (the webhook function, which holds the token, edits it).
  if (run.thread) await announceItem(deps, item, run, 'itemResolved');
}
