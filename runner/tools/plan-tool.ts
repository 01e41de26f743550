import type { Tool } from '@aws-sdk/client-bedrock-runtime';
import * as z from 'zod';
import { MAX_PLAN_CHARS } from '../../core/inbox/plan-approval';

/**
 * `propose_plan {plan}`: the tool a plan run (`plan: true`) ends its exploration with. Offered only
 * to plan runs, beside the other tools, in both phases (so the tool list and the prompt cache prefix
 * stay the same across the approval); the runner handles it (runner/session/tool-gate.ts), it runs nothing.
 */
export const PROPOSE_PLAN = 'propose_plan';

export const ProposePlanInput = z
  .object({
    plan: z
      .string()
      .min(1)
      .max(MAX_PLAN_CHARS)
      .describe('The plan: the steps, the files you will change, how you will verify it, the risks (Markdown)'),
  })
  .strict();

export function proposePlanToolSpec(): Tool {
  const json = z.toJSONSchema(ProposePlanInput) as Record<string, unknown>;
  delete json.$schema;
  return {
    toolSpec: {
      name: PROPOSE_PLAN,
      description:
        'End the plan phase: send your plan to a human for approval. The run pauses; when it is approved the result of this call is the plan to follow (possibly edited) and all tools become available.',
      inputSchema: { json: json as never },
    },
  };
}
