import * as z from 'zod';
import { RepoName } from '../config/schema';
import { TokenUsage } from '../pricing';
import { CapacityProvider, RunKind, RunOutcome, RunSource, RunStatus } from './lifecycle';
import { branchNameReason, oddUnicodeReason } from './text';

/** Run ids are ULIDs: sortable by creation time, safe in execution names, branch names and S3 keys. */
export const RunId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a run id (ULID)');
export type RunId = z.infer<typeof RunId>;

export const Prompt = z
  .string()
  .min(1, 'must not be empty')
  .max(20_000, 'must be at most 20,000 characters')
  .superRefine((text, ctx) => {
    const reason = oddUnicodeReason(text);
    if (reason) ctx.addIssue({ code: 'custom', message: reason });
    if (text.trim().length === 0) ctx.addIssue({ code: 'custom', message: 'must not be only white space' });
  });

export const BranchName = z.string().superRefine((name, ctx) => {
  const reason = branchNameReason(name);
  if (reason) ctx.addIssue({ code: 'custom', message: `not a valid branch name: ${reason}` });
});

export const Label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,49}$/, 'labels are 1-50 of letters, digits, ".", "_", ":" or "-"');

/**
 * A run's place in the queue (docs/architecture.md#admission): `high` runs are admitted before
 * `normal` ones, `normal` before `low`; first come, first served within a priority, per cap.
 */
export const RunPriority = z.enum(['high', 'normal', 'low']);
export type RunPriority = z.infer<typeof RunPriority>;

/** Body of `POST /v1/runs`. Caps that depend on config (`maxPerRunUsd`, `timeouts.maxMinutes`) are checked by the submit logic. */
export const SubmitRunRequest = z
  .object({
    repo: RepoName,
    prompt: Prompt,
    baseBranch: BranchName.optional(),
    branch: BranchName.optional(),
    issue: z.number().int().positive().max(2_147_483_647).optional(),
    budgetUsd: z.number().positive('must be greater than 0').max(10_000).optional(),
    maxMinutes: z
      .number()
      .int()
      .positive('must be greater than 0')
      .max(24 * 60)
      .optional(),
    labels: z.array(Label).max(10).optional(),
    /** `review`: read pull request `pr` and post one COMMENT review; nothing is pushed (default `change`). */
    kind: RunKind.optional(),
    /** The pull request a review run reviews (required with `kind: review`). */
    pr: z.number().int().positive().max(2_147_483_647).optional(),
    /** true: the agent first explores without changing anything and proposes a plan, which waits in the inbox (`plan_approval`) before any edit. */
    plan: z.boolean().optional(),
    /** Queue priority (default `normal`): high before normal before low, FIFO within one. */
    priority: RunPriority.optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    if (request.kind === 'review') {
      if (request.pr === undefined)
        ctx.addIssue({ code: 'custom', path: ['pr'], message: 'required with kind "review": the number of the pull request to review' });
      // A review reads the pull request's own branches and pushes nothing.
      for (const field of ['branch', 'baseBranch', 'issue'] as const) {
        if (request[field] !== undefined)
          ctx.addIssue({ code: 'custom', path: [field], message: 'not allowed with kind "review": the pull request names its branches' });
      }
    } else if (request.pr !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['pr'],
        message: 'only allowed with kind "review" (a change run continues a pull request by its `branch`)',
      });
  });
export type SubmitRunRequest = z.infer<typeof SubmitRunRequest>;

export const RunError = z.object({ code: z.string(), message: z.string() }).strict();
export type RunError = z.infer<typeof RunError>;

/** A run as the API shows it (docs/api.md#requests). Money in USD. */
export const RunView = z
  .object({
    runId: RunId,
    repo: RepoName,
    status: RunStatus,
    outcome: RunOutcome.nullable(),
    source: RunSource,
    kind: RunKind,
    /** The pull request a review run reviewed. */
    pr: z.number().int().nullable(),
    requester: z.string(),
    prompt: z.string(),
    baseBranch: z.string().nullable(),
    issue: z.number().int().nullable(),
    labels: z.array(z.string()),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    branch: z.string().nullable(),
    prUrl: z.string().nullable(),
    budgetUsd: z.number(),
    costUsd: z.number(),
    maxMinutes: z.number().int(),
    tokens: TokenUsage,
    queuePosition: z.number().int().nullable(),
    /** Why a QUEUED run waits: a concurrency slot, an earlier run of its thread, or its requester's review backlog. */
    queueReason: z.string().nullable(),
    /** Queue priority: `high`, `normal` or `low`. */
    priority: RunPriority,
    cancelRequested: z.boolean(),
    error: RunError.nullable(),
    /** The GitHub issue or pull request (`owner/name#N`) whose thread the run belongs to. */
    thread: z.string().nullable(),
    /** How the thread's pull request ended on GitHub, once it did. */
    pullRequest: z
      .object({ number: z.number().int(), state: z.enum(['merged', 'closed']), at: z.string() })
      .strict()
      .nullable(),
    /** Resumes without a human (Spot interruption, task lost after a checkpoint): how many, on which capacity the run goes on, and why the last one happened. */
    automaticResumes: z
      .object({ count: z.number().int().positive(), capacityProvider: CapacityProvider, lastCause: z.string() })
      .strict()
      .nullable(),
  })
  .strict();
export type RunView = z.infer<typeof RunView>;

/** `tool_start`: a tool, setup command or test run begins (its `tool_call` or `test_result` follows when it ends). */
export const RunEventType = z.enum(['status', 'model_turn', 'tool_start', 'tool_call', 'test_result', 'egress_blocked', 'note', 'trace']);
export type RunEventType = z.infer<typeof RunEventType>;

/** One entry of a run's timeline (`GET /v1/runs/{runId}/events`). `detail` is type-specific and already redacted. */
export const RunEvent = z
  .object({
    runId: RunId,
    seq: z.string(),
    at: z.string(),
    type: RunEventType,
    message: z.string(),
    detail: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type RunEvent = z.infer<typeof RunEvent>;

/**
 * What the runner reports to the state machine with SendTaskSuccess (the output of the runTask state).
 * Failures are reported with SendTaskFailure and an error name from `RunnerErrorName`.
 */
export const RunnerResult = z
  .object({
    outcome: RunOutcome,
    branch: z.string().nullable(),
    prUrl: z.string().nullable(),
    /** Set when outcome is `question`. */
    question: z.string().nullable(),
    summary: z.string().max(4_000),
  })
  .strict();
export type RunnerResult = z.infer<typeof RunnerResult>;

/** Error names the runner uses with SendTaskFailure; the finalize step maps them to a terminal status. */
export const RunnerErrorName = z.enum([
  'Nightshift.BudgetExceeded',
  'Nightshift.RunFailed',
  'Nightshift.Cancelled',
  'Nightshift.Interrupted',
]);
export type RunnerErrorName = z.infer<typeof RunnerErrorName>;
