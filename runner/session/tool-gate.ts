import * as z from 'zod';
import { PLAN_ALREADY_APPROVED, PLAN_PENDING, planApprovalRequest, planPhaseRefusal } from '../../core/inbox/plan-approval';
import { RISKY_ACTION_PENDING, riskyActionOf, riskyActionRequest, type ApprovalRequired } from '../../core/inbox/risky-action';
import { PROPOSE_PLAN, ProposePlanInput } from '../tools/plan-tool';
import type { PauseRequest } from './loop-state';

/**
 * What the runner does with one tool call before the tool runs: run it, refuse it (the text is the
 * tool result the agent gets), or pause the run before it runs (the plan to approve, a risky action
 * to approve): the pause goes through the one checkpoint-and-resume mechanism, with `result` as the
 * call's placeholder result in the checkpoint, replaced when the run resumes.
 */
export type GateDecision = { kind: 'run' } | { kind: 'refuse'; text: string } | { kind: 'pause'; pause: PauseRequest; result: string };

export interface ToolGateRules {
  /** The run was submitted with `plan: true` (it has the propose_plan tool). */
  planRun: boolean;
  /** The plan is not approved yet: nothing may change. */
  planPhase: boolean;
  /** `.nightshift.yml` `approvalRequired`. */
  approvalRequired: ApprovalRequired | undefined;
}

const PLAN_PHASE_REFUSED = new Set(['write_file', 'edit_file', 'finish']);

export function gateToolCall(rules: ToolGateRules, name: string, input: unknown): GateDecision {
  if (name === PROPOSE_PLAN && rules.planRun) {
    if (!rules.planPhase) return { kind: 'refuse', text: PLAN_ALREADY_APPROVED };
    const parsed = ProposePlanInput.safeParse(input);
    if (!parsed.success) return { kind: 'refuse', text: `invalid input for ${PROPOSE_PLAN}: ${z.prettifyError(parsed.error)}` };
    return { kind: 'pause', pause: { reason: 'plan_approval', ...planApprovalRequest(parsed.data.plan) }, result: PLAN_PENDING };
  }
  if (rules.planPhase && PLAN_PHASE_REFUSED.has(name)) return { kind: 'refuse', text: planPhaseRefusal(name) };
  const risky = riskyActionOf(rules.approvalRequired, name, input);
  if (risky) return { kind: 'pause', pause: { reason: 'risky_action', ...riskyActionRequest(risky, input) }, result: RISKY_ACTION_PENDING };
  return { kind: 'run' };
}
