/**
 * The `plan_approval` pause (docs/inbox.md#plan_approval: a run submitted with `plan: true`): the agent first explores
 * without changing the repository and ends its exploration with a plan (`propose_plan`); the plan
 * waits in the inbox; an approval (optionally with the plan edited) resumes the run with the approved
 * plan in its conversation and every tool; a rejection ends the run CANCELLED, `plan_rejected`.
 * Pure: what the agent is told and what the item says.
 */

/** Plans longer than this are refused by the tool (the same cap as an edited plan in a resolution). */
export const MAX_PLAN_CHARS = 20_000;

/** Added to the task message of a plan run. */
export const PLAN_PHASE_NOTE = [
  'This is a plan run: first explore and propose a plan; nothing changes until a human approves it.',
  'In this phase write_file and edit_file are refused, finish is refused, and whatever a shell command changes in the checkout is discarded (use the shell to read, build and run the tests).',
  'When you know what to do, call propose_plan with the plan: the steps, the files you will change, how you will verify it, and the risks.',
  'The run then waits for approval; once approved you get the plan back (perhaps edited by the human) and all the tools to carry it out.',
].join('\n');

/** Tool result of a write tool or finish in the plan phase: says what to do instead. */
export function planPhaseRefusal(tool: string): string {
  return tool === 'finish'
    ? 'refused: this is the plan phase; nothing has been changed yet. Call propose_plan with your plan; after it is approved you carry it out and then finish.'
    : `refused: ${tool} is not available in the plan phase (nothing may change before the plan is approved). Keep exploring with read_file, list_files, search and shell, then call propose_plan with your plan.`;
}

/** propose_plan after the plan was approved. */
export const PLAN_ALREADY_APPROVED = 'refused: your plan was already approved; carry it out and call finish when done.';

/** The propose_plan result stored with the pause, replaced on resume by the approval. */
export const PLAN_PENDING = 'the plan went to a human for approval; the run pauses until the answer comes back as this result';

export function planApprovalRequest(plan: string): { message: string; details: { plan: string } } {
  const firstLine =
    plan
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? plan.trim();
  const headline = firstLine.length > 200 ? `${firstLine.slice(0, 200)}…` : firstLine;
  return { message: `The agent proposes a plan and waits for approval before changing anything: ${headline}`, details: { plan } };
}

/** The resumed conversation's result of `propose_plan`: the plan to carry out (the human's edit when there is one). */
export function planApprovedNote(plan: string, edited: boolean): string {
  return `${edited ? 'The requester approved your plan with edits. Follow this plan, as edited' : 'The requester approved your plan. Follow it'}; all tools are available now (write_file, edit_file, finish):\n\n${plan}`;
}
