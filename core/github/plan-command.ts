import { stripHiddenText } from './untrusted-text';

/**
 * `/nightshift plan <text>` (docs/github-app.md#plans-on-github): a run that first explores read-only
 * and proposes a plan, which waits as a `plan_approval` item (posted on the thread like a question)
 * until `/nightshift approve [edited plan]` or `/nightshift reject`. On an issue it is a new run on the
 * issue, on a pull request an iteration, as the same comment without `plan` would be; only the
 * submission's `plan: true` differs. Pure: parsing only.
 */

export interface PlanCommand {
  /** What follows `plan`, trimmed (may be empty: the issue or the pull request's discussion is the task). */
  instructions: string;
}

const PLAN = /^plan(?=\s|$)/i;

/**
 * The plan command in a `/nightshift` comment's instructions, when its first visible word is `plan`
 * (hidden characters stripped first, as for the inbox commands, so a reader of the thread sees what
 * decides). The instructions are that visible text after `plan` (the prompt fences them as data).
 */
export function parsePlanCommand(instructions: string): PlanCommand | undefined {
  const visible = stripHiddenText(instructions).trim();
  const match = PLAN.exec(visible);
  return match ? { instructions: visible.slice(match[0].length).trim() } : undefined;
}
