import { microsToUsd, usdToMicros } from '../pricing';
import { BUDGET_DETAIL_FIELDS } from './detail-fields';
import { stuckHintText } from '../runs/stuck';
import type { PauseReason } from './pause-report';

/**
 * The `budget_approval` pause (config `budgets.askForMore`, docs/inbox.md#budget_approval): a run whose next model call no
 * longer fits its budget asks its requester for more instead of ending BUDGET_EXCEEDED. Pure: what the
 * item says, and what the resumed conversation is told.
 */

const dollars = (micros: number) => `$${microsToUsd(micros).toFixed(2)}`;
/** An upper bound in cents, rounded up: "may cost up to" never understates. */
const dollarsUp = (micros: number) => `$${(Math.ceil(micros / 10_000) / 100).toFixed(2)}`;

/** The inbox item's message and details, from the ledger's numbers at the refusal. */
export function budgetApprovalRequest(
  run: { budgetMicros: number; spentMicros: number },
  neededMicros: number,
): { message: string; details: Record<string, number> } {
  return {
    message: `The run has spent ${dollars(run.spentMicros)} of its ${dollars(run.budgetMicros)} budget and its next model call may cost up to ${dollarsUp(neededMicros)}. Approve more budget to let it go on, or reject to end it BUDGET_EXCEEDED.`,
    details: {
      [BUDGET_DETAIL_FIELDS.budget]: microsToUsd(run.budgetMicros),
      [BUDGET_DETAIL_FIELDS.spent]: microsToUsd(run.spentMicros),
      [BUDGET_DETAIL_FIELDS.nextCall]: microsToUsd(neededMicros),
    },
  };
}

/** What the resumed run is told when its requester approved more budget (the run's `resume.answer`). */
export function budgetApprovedNote(extraUsd: number, budgetMicros: number): string {
  return `The requester approved ${dollars(usdToMicros(extraUsd))} more budget (the run's budget is now ${dollars(budgetMicros)}). Go on with the task.`;
}

/**
 * The text the resumed conversation gets for the pause: a question's answer becomes the `ask_human`
 * tool result; a stuck run's hint and any other reason's resolution are a note in the last user message.
 */
export function resumeText(reason: PauseReason, answer: string): string {
  if (reason === 'question') return `A human answered your question:\n${answer}`;
  if (reason === 'stuck') return stuckHintText(answer);
  return answer;
}
