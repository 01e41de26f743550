import type { InboxItemType, InboxResolution } from './inbox-item';
import { planApprovedNote } from './plan-approval';
import { RISKY_ACTION_APPROVED, riskyActionRefusal } from './risky-action';

/** The error a rejected budget_approval fails the wait with: Finalize ends the run BUDGET_EXCEEDED, `budget_declined`. */
export const BUDGET_DECLINED_ERROR = 'Nightshift.BudgetDeclined';
/** The error a rejected plan_approval fails the wait with: Finalize ends the run CANCELLED, `plan_rejected`. */
export const PLAN_REJECTED_ERROR = 'Nightshift.PlanRejected';

/**
 * What a resolution of an item a paused run waits on does to the run, decided without touching the
 * store (core/runs/answer.ts carries it out):
 * - `resume`: the run is re-queued with `answer` on its `resume` (and the action, which a resumed
 *   risky action needs: approve runs the pending call, reject returns `answer` as its refusal);
 * - `extend_budget`: an approved budget_approval: the extra is reserved first, then the run resumes;
 * - `end`: the wait fails with `error`, and Finalize ends the run.
 */
export type PauseResolutionEffect =
  | { kind: 'resume'; answer: string }
  | { kind: 'extend_budget'; extraBudgetUsd: number }
  | { kind: 'end'; error: string; cause: string };

export function pauseResolutionEffect(
  item: { type: InboxItemType; details: Record<string, unknown> },
  resolution: InboxResolution,
  resolvedBy: string,
): PauseResolutionEffect {
  const approved = resolution.action === 'approve';
  switch (item.type) {
    case 'budget_approval':
      return approved
        ? { kind: 'extend_budget', extraBudgetUsd: resolution.extraBudgetUsd! }
        : { kind: 'end', error: BUDGET_DECLINED_ERROR, cause: 'the requester declined the budget_approval' };
    case 'plan_approval': {
      if (!approved) return { kind: 'end', error: PLAN_REJECTED_ERROR, cause: 'the requester rejected the plan' };
      const proposed = typeof item.details.plan === 'string' ? item.details.plan : '';
      const edited = resolution.plan !== undefined && resolution.plan !== proposed;
      return { kind: 'resume', answer: planApprovedNote(resolution.plan ?? proposed, edited) };
    }
    case 'risky_action':
      return { kind: 'resume', answer: approved ? RISKY_ACTION_APPROVED : riskyActionRefusal(resolvedBy) };
    default:
      // question, stuck: the answer is what the run resumes with.
      return resolution.answer !== null
        ? { kind: 'resume', answer: resolution.answer }
        : { kind: 'end', error: 'Nightshift.NoAnswer', cause: `a ${item.type} item was resolved without an answer` };
  }
}
