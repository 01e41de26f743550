import * as z from 'zod';
import { RepoName } from '../config/schema';
import { RunId } from '../runs/schemas';

/** Why an inbox item exists (docs/inbox.md). Each pause reason of the runner is one of these. */
export const InboxItemType = z.enum(['pr_ready', 'question', 'plan_approval', 'risky_action', 'budget_approval', 'stuck', 'failed']);
export type InboxItemType = z.infer<typeof InboxItemType>;

export const InboxItemState = z.enum(['open', 'resolved']);
export type InboxItemState = z.infer<typeof InboxItemState>;

export const InboxAction = z.enum(['approve', 'reject', 'answer', 'dismiss']);
export type InboxAction = z.infer<typeof InboxAction>;

/** Items are ULIDs like runs: sortable by creation time. */
export const InboxItemId = RunId;

/** Who or what resolved an item: a caller, or Nightshift itself when the run ended or no answer came in time. */
export const SYSTEM_RESOLVER = 'nightshift';

export const InboxResolution = z
  .object({
    action: z.union([InboxAction, z.literal('expired'), z.literal('closed')]),
    answer: z.string().nullable(),
    /** budget_approval approved: how much more the run may spend. */
    extraBudgetUsd: z.number().positive().optional(),
    /** plan_approval approved with an edited plan: the plan the run follows. */
    plan: z.string().min(1).optional(),
    /** A pr_ready item closed by Nightshift: how its pull request ended on GitHub. */
    pullRequest: z.enum(['merged', 'closed']).optional(),
  })
  .strict();
export type InboxResolution = z.infer<typeof InboxResolution>;

/** What a pause asks for, as the runner reports it. `details` is type-specific (the question, the plan, ...). */
export const InboxDetails = z.record(z.string(), z.unknown());

/** An inbox item as the API shows it (docs/api.md#requests); the task token never leaves the store. */
export const InboxItemView = z
  .object({
    itemId: InboxItemId,
    type: InboxItemType,
    state: InboxItemState,
    runId: RunId,
    repo: RepoName,
    requester: z.string(),
    createdAt: z.string(),
    resolvedAt: z.string().nullable(),
    resolvedBy: z.string().nullable(),
    message: z.string(),
    details: InboxDetails,
    resolution: InboxResolution.nullable(),
  })
  .strict();
export type InboxItemView = z.infer<typeof InboxItemView>;

/** Answers longer than this are refused: the answer goes into the model's conversation. */
export const MAX_ANSWER_CHARS = 8_000;

/** Body of `POST /v1/inbox/{itemId}`. */
export const ResolveInboxRequest = z
  .object({
    action: InboxAction,
    answer: z.string().trim().min(1, 'must not be empty').max(MAX_ANSWER_CHARS).optional(),
    extraBudgetUsd: z.number().positive().max(10_000).optional(),
    plan: z.string().trim().min(1).max(20_000).optional(),
  })
  .strict();
export type ResolveInboxRequest = z.infer<typeof ResolveInboxRequest>;

/** The actions each item type accepts (docs/inbox.md#resolving-an-item). */
export const actionsFor: Record<InboxItemType, readonly InboxAction[]> = {
  question: ['answer'],
  stuck: ['answer'],
  plan_approval: ['approve', 'reject'],
  risky_action: ['approve', 'reject'],
  budget_approval: ['approve', 'reject'],
  pr_ready: ['dismiss'],
  failed: ['dismiss'],
};

/**
 * What a resolution request does to an item, decided without touching the store:
 * - `resolve`: the item is open and the request fits its type: write it (conditionally);
 * - `same`: the item was already resolved this way: answer 200 with it, change nothing;
 * - `conflict`: the item was resolved otherwise (or closed by Nightshift): 409;
 * - `invalid`: the request does not fit the item's type: 400, nothing changes.
 */
export type ResolutionDecision =
  | { kind: 'resolve'; resolution: InboxResolution }
  | { kind: 'same' }
  | { kind: 'conflict'; reason: string }
  | { kind: 'invalid'; reason: string };

export function decideResolution(
  item: Pick<InboxItemView, 'type' | 'state' | 'resolution'>,
  request: ResolveInboxRequest,
): ResolutionDecision {
  const allowed = actionsFor[item.type];
  if (!allowed.includes(request.action))
    return { kind: 'invalid', reason: `a ${item.type} item accepts ${allowed.map((a) => `"${a}"`).join(' or ')}, not "${request.action}"` };
  if (request.action === 'answer' && request.answer === undefined) return { kind: 'invalid', reason: 'action "answer" needs an answer' };
  if (request.action !== 'answer' && request.answer !== undefined)
    return { kind: 'invalid', reason: `action "${request.action}" takes no answer` };
  if (request.plan !== undefined && !(item.type === 'plan_approval' && request.action === 'approve'))
    return { kind: 'invalid', reason: 'an edited plan goes only with approving a plan_approval item' };
  if (request.extraBudgetUsd !== undefined && !(item.type === 'budget_approval' && request.action === 'approve')) {
    return { kind: 'invalid', reason: 'extraBudgetUsd goes only with approving a budget_approval item' };
  }
  if (item.type === 'budget_approval' && request.action === 'approve' && request.extraBudgetUsd === undefined)
    return { kind: 'invalid', reason: 'approving a budget_approval item needs extraBudgetUsd (how much more the run may spend)' };
  const resolution: InboxResolution = {
    action: request.action,
    answer: request.answer ?? null,
    ...(request.extraBudgetUsd !== undefined ? { extraBudgetUsd: request.extraBudgetUsd } : {}),
    ...(request.plan !== undefined ? { plan: request.plan } : {}),
  };
  if (item.state === 'open') return { kind: 'resolve', resolution };
  const previous = item.resolution;
  if (
    previous &&
    previous.action === resolution.action &&
    previous.answer === resolution.answer &&
    previous.extraBudgetUsd === resolution.extraBudgetUsd &&
    previous.plan === resolution.plan
  )
    return { kind: 'same' };
  if (previous?.pullRequest) return { kind: 'conflict', reason: `the item was closed when its pull request was ${previous.pullRequest}` };
  if (previous && (previous.action === 'expired' || previous.action === 'closed'))
    return {
      kind: 'conflict',
      reason: `the item was ${previous.action === 'expired' ? 'not answered in time' : 'closed when its run ended'}`,
    };
  return { kind: 'conflict', reason: `the item was already resolved with "${previous?.action ?? 'another action'}"` };
}

/** Which items a list shows by state (docs/api.md#requests: `open` by default). */
export const InboxStateFilter = z.enum(['open', 'resolved', 'all']);
export type InboxStateFilter = z.infer<typeof InboxStateFilter>;

/**
 * One page of an inbox list, as the store runs it: newest first, `requester` already fixed by the
 * caller's access (core/runs/access.ts `listScope`) before the query.
 */
export interface InboxListQuery {
  state: InboxStateFilter;
  type?: InboxItemType;
  repo?: string;
  requester?: string;
  limit: number;
  cursor?: string;
}

/** The item states a state filter covers, each one partition of the byState index. */
export function statesOf(filter: InboxStateFilter): InboxItemState[] {
  return filter === 'all' ? ['open', 'resolved'] : [filter];
}

/**
 * Newest first across several partitions already sorted newest first (ULIDs sort by creation): the
 * first `limit` of their merge, and whether any is left after them.
 */
export function newestFirst<T extends { itemId: string }>(lists: readonly (readonly T[])[], limit: number): { items: T[]; more: boolean } {
  const merged = lists.flat().sort((a, b) => (a.itemId < b.itemId ? 1 : a.itemId > b.itemId ? -1 : 0));
  return { items: merged.slice(0, limit), more: merged.length > limit };
}
