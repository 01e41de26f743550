import * as z from 'zod';

/**
 * The body of `POST /v1/admin/intake` (lambdas/ops/intake.ts). A module of its own so that the OpenAPI
 * route describes it without loading the intake function's DynamoDB client.
 */
export const IntakeChange = z
  .object({
    action: z.enum(['pause', 'resume']),
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .strict();
export type IntakeChange = z.infer<typeof IntakeChange>;
