import * as z from 'zod';
import { RepoName } from '../../core/config/schema';

/**
 * The webhook token broker's Invoke payload (lambdas/github/webhook-token-broker.ts): a token for one
 * allowlisted repository, to read permissions, issues, pull requests and comments and to write
 * comments and reactions. Only the webhook function may invoke it.
 */
export const WebhookTokenRequest = z
  .object({
    kind: z.literal('webhookToken'),
    repo: RepoName,
    /** Also `checks: write`: for the check run written when a run ends (core/github/run-status-report.ts). */
    checks: z.boolean().optional(),
    /** Instead, also `checks: read` and `actions: read`: for CI auto-fix, to read a failed CI run's jobs and logs (core/github/ci-fix-intake.ts). */
    ci: z.boolean().optional(),
  })
  .strict();
export type WebhookTokenRequest = z.infer<typeof WebhookTokenRequest>;

/** What the webhook handler needs, and no more: no contents, no pushes, no check runs. */
export const WEBHOOK_TOKEN_PERMISSIONS = { issues: 'write', pull_requests: 'read', metadata: 'read' } as const;
/** The same, plus check runs: asked for only when a run's end is reported. */
export const STATUS_TOKEN_PERMISSIONS = { ...WEBHOOK_TOKEN_PERMISSIONS, checks: 'write' } as const;
/** The same as the webhook's, plus reading checks and Actions (jobs, logs): asked for only when CI failed on a commit. */
export const CI_TOKEN_PERMISSIONS = { ...WEBHOOK_TOKEN_PERMISSIONS, checks: 'read', actions: 'read' } as const;

export const WebhookTokenResponse = z
  .object({
    token: z.string().min(1),
    expiresAt: z.string(),
    mode: z.enum(['app', 'pat', 'forge']),
    repository: z.string(),
  })
  .strict();
export type WebhookTokenResponse = z.infer<typeof WebhookTokenResponse>;
