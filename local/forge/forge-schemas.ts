import * as z from 'zod';

/**
 * The request bodies the local forge accepts, as GitHub's REST API validates them (a failure is
 * answered 422 Validation Failed with zod's messages).
 */

export const CreatePull = z.object({
  title: z.string().min(1),
  head: z.string().min(1),
  base: z.string().min(1),
  body: z.string().optional(),
  draft: z.boolean().optional(),
  maintainer_can_modify: z.boolean().optional(),
});
export const UpdatePull = z.object({
  title: z.string().min(1).optional(),
  body: z.string().optional(),
  state: z.enum(['open', 'closed']).optional(),
  base: z.string().optional(),
});
export const CreateComment = z.object({ body: z.string().min(1) });
export const CreateIssue = z.object({ title: z.string().min(1).max(256), body: z.string().max(65_536).optional() });
export const AddLabels = z.object({ labels: z.array(z.string().min(1).max(50)).min(1).max(100) });
export const UpdateComment = z.object({ body: z.string().min(1).max(65_536) });
const CheckRunOutput = z.object({ title: z.string().max(1_000), summary: z.string().max(65_535), text: z.string().max(65_535).optional() });
const CheckRunFields = {
  name: z.string().min(1).max(200),
  external_id: z.string().max(200).optional(),
  status: z.enum(['queued', 'in_progress', 'completed']).optional(),
  conclusion: z.enum(['success', 'failure', 'neutral', 'cancelled', 'skipped', 'timed_out', 'action_required']).optional(),
  completed_at: z.string().optional(),
  output: CheckRunOutput.optional(),
};
export const CreateCheckRun = z.object({ ...CheckRunFields, head_sha: z.string().regex(/^[0-9a-f]{40}$/, 'must be a commit sha') });
export const UpdateCheckRun = z.object(CheckRunFields).partial();
export const CreateReview = z
  .object({
    commit_id: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'must be a commit sha')
      .optional(),
    body: z.string().max(65_536).optional(),
    event: z.enum(['APPROVE', 'REQUEST_CHANGES', 'COMMENT']),
    comments: z
      .array(
        z
          .object({
            path: z.string().min(1),
            line: z.number().int().positive(),
            side: z.enum(['LEFT', 'RIGHT']).optional(),
            body: z.string().min(1).max(65_536),
          })
          .strict(),
      )
      .max(100)
      .optional(),
  })
  .strict();
export const CreateReaction = z.object({ content: z.enum(['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes']) });
export const AccessTokenRequest = z.object({
  repositories: z.array(z.string()).optional(),
  repository_ids: z.array(z.number()).optional(),
  permissions: z.record(z.string(), z.string()).optional(),
});
