import * as z from 'zod';
import { ReplayProvider } from '../model/replay-provider';
import { resumeText } from '../../core/inbox/budget-approval';
import { isAutomaticPauseReason } from '../../core/inbox/pause-report';
import { CheckpointFile, conversationWithAnswer } from './checkpoint';
import type { RunContext } from './run-context';
import { RunFailure } from './run-errors';
import type { RestoredConversation } from './loop-state';
import { pendingCallOf } from './pending-call';

/**
 * The run resumes after a pause (its record's `resume` holds the answer): read the checkpoint of
 * that pause back from the run's objects, put the answer in as the paused tool call's result, and let
 * a replayed session go on from the next recorded response. Undefined for a run that never paused.
 */
export async function restoreConversation(ctx: RunContext): Promise<RestoredConversation | undefined> {
  const resume = ctx.run.resume;
  if (!resume || resume.answer === null) return undefined;
  let file: CheckpointFile;
  try {
    file = CheckpointFile.parse(JSON.parse(await ctx.deps.checkpoints.read(ctx.run.runId, resume.itemId)));
  } catch (err) {
    const reason = err instanceof z.ZodError ? 'it is not a checkpoint' : ctx.redactor.redact((err as Error).message);
    throw new RunFailure('checkpoint_unreadable', `cannot restore the conversation of pause ${resume.itemId}: ${reason}`);
  }
  if (file.runId !== ctx.run.runId || file.itemId !== resume.itemId)
    throw new RunFailure('checkpoint_mismatch', `checkpoint ${resume.itemId} belongs to another run or pause`);
  // An automatic resume's answer is already the note the conversation gets (core/runs/automatic-resume.ts).
  const reason = resume.reason;
  const automatic = isAutomaticPauseReason(reason);
  const messages = conversationWithAnswer(file, isAutomaticPauseReason(reason) ? resume.answer : resumeText(reason, resume.answer));
  const pending = resume.reason === 'risky_action' ? pendingCallOf(file, messages, resume.action === 'approve', resume.answer) : undefined;
  if (ctx.deps.model instanceof ReplayProvider) ctx.deps.model.continueAfter(file.modelCalls);
  const how = resume.reason === 'question' || resume.reason === 'stuck' ? 'answered' : resume.action === 'reject' ? 'rejected' : 'approved';
  const after = automatic ? 'the runner task was interrupted' : `the ${resume.reason} was ${how}`;
  const lost =
    ctx.run.automaticResumes?.lastKey.startsWith('lost:') && ctx.run.automaticResumes.lastKey === `lost:${resume.segment - 1}`
      ? ` (again: the task that resumed from it was lost: ${ctx.run.automaticResumes.lastCause})`
      : '';
  await ctx.emit('note', `resumed after ${after}${lost}; the conversation goes on from turn ${file.turn + 1}`, {
    itemId: resume.itemId,
    segment: resume.segment,
    turn: file.turn,
    ...(ctx.run.automaticResumes
      ? { automaticResumes: ctx.run.automaticResumes.count, capacityProvider: ctx.run.automaticResumes.capacityProvider }
      : {}),
  });
  return {
    messages,
    turn: file.turn,
    planPhase: file.planPhase === true && resume.reason !== 'plan_approval',
    ...(pending ? { pending } : {}),
  };
}
