import * as z from 'zod';
import { RunId } from '../runs/schemas';
import { InboxAction, InboxDetails, InboxItemId } from './inbox-item';

/** The pause reasons the runner reports (each an inbox item type that a task token waits on). */
export const PauseReason = z.enum(['question', 'budget_approval', 'plan_approval', 'risky_action', 'stuck']);
export type PauseReason = z.infer<typeof PauseReason>;

/**
 * Reasons a run checkpoints and resumes without a human (no inbox item, no task token): `interrupted`,
 * the runner's SIGTERM from outside the platform (a Fargate Spot interruption, in practice), resumed at
 * once by core/runs/automatic-resume.ts. Kept apart from PauseReason, whose every value is an inbox item type.
 */
export const AutomaticPauseReason = z.enum(['interrupted']);
export type AutomaticPauseReason = z.infer<typeof AutomaticPauseReason>;

/** Why a checkpoint was taken: for a human (PauseReason) or not (AutomaticPauseReason). */
export const CheckpointReason = z.union([PauseReason, AutomaticPauseReason]);
export type CheckpointReason = z.infer<typeof CheckpointReason>;

export function isAutomaticPauseReason(reason: CheckpointReason): reason is AutomaticPauseReason {
  return AutomaticPauseReason.safeParse(reason).success;
}

/**
 * The runner's second SendTaskSuccess shape (the first is RunnerResult): the run paused. Its work in
 * progress is on `branch` and its conversation at `checkpoint`; `itemId` names the checkpoint and
 * becomes the inbox item's id, so a retried Pause task creates the item once.
 *
 * An `interrupted` pause may have `checkpoint: null`: SIGTERM came before the agent loop started
 * (clone, setup, the tests at base), so there is no conversation to keep and nothing was lost; the
 * run starts its task over (core/runs/automatic-resume.ts). Its `branch` is then the run branch as
 * pushed (unchanged), or null when the checkout had not made it yet.
 */
export const RunnerPause = z
  .object({
    pause: z
      .object({
        itemId: InboxItemId,
        reason: CheckpointReason,
        message: z.string().min(1).max(4_000),
        details: InboxDetails,
        branch: z.string().min(1).nullable(),
        checkpoint: z.string().min(1).max(2_048).nullable(),
      })
      .strict()
      .superRefine((pause, issues) => {
        if (pause.checkpoint === null && pause.reason !== 'interrupted')
          issues.addIssue({
            code: 'custom',
            path: ['checkpoint'],
            message: 'only an interruption before the agent loop has no checkpoint',
          });
        if (pause.branch === null && pause.checkpoint !== null)
          issues.addIssue({ code: 'custom', path: ['branch'], message: 'a checkpoint names the branch its work is on' });
      }),
  })
  .strict();
export type RunnerPause = z.infer<typeof RunnerPause>;

/**
 * On the run record while it is paused and after an answer: what the next runner task restores. The
 * runner reads it at start; `segment` counts the tasks of the run (1 is the first), so model call ids
 * and charges of one task never collide with another's.
 */
export const RunResume = z
  .object({
    itemId: InboxItemId,
    reason: CheckpointReason,
    /** null: a task interrupted before its agent loop; nothing to restore, the next task starts the task over (`answer` is null too). */
    checkpoint: z.string().min(1).nullable(),
    /** What the run resumes with (the human's answer to a `question`, the approval of a `budget_approval`, the note of an automatic resume); null until the item is resolved. */
    answer: z.string().nullable(),
    /** How the item was resolved: a resumed `risky_action` runs its pending call on `approve` and returns `answer` as a refusal on `reject`. Absent before the item is resolved (and on records from before it existed). */
    action: InboxAction.optional(),
    /** When the answer re-queued the run: the queue limit counts from here. */
    answeredAt: z.string().nullable(),
    segment: z.number().int().min(2),
  })
  .strict();
export type RunResume = z.infer<typeof RunResume>;

/** The Pause task's payload: the execution's run, the runner's report and the token the wait state issued. */
export const PauseTaskInput = z
  .object({
    runId: RunId,
    token: z.string().min(1),
    report: RunnerPause,
  })
  .strict();
export type PauseTaskInput = z.infer<typeof PauseTaskInput>;
