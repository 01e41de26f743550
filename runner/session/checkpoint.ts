import type { ContentBlock, Message } from '@aws-sdk/client-bedrock-runtime';
import * as z from 'zod';
import { isAutomaticPauseReason, type RunnerPause } from '../../core/inbox/pause-report';
import { newRunId } from '../../core/runs/run-id';
import { ReplayProvider } from '../model/replay-provider';
import type { AgentEnd, PauseRequest } from './loop-state';
import { pushWorkInProgress } from './delivery';
import type { RunContext } from './run-context';
import type { RunEnd } from './run-errors';
import type { PreparedRun } from './prepared-run';

/** The conversation at a pause, as stored next to the trace (redacted of secret values). */
export const CheckpointFile = z
  .object({
    v: z.literal(1),
    runId: z.string(),
    itemId: z.string(),
    /** Model turns the run had made when it paused; the next task goes on from turn + 1. */
    turn: z.number().int().nonnegative(),
    /** Model calls served so far: a replayed session goes on from the next recorded response. */
    modelCalls: z.number().int().nonnegative(),
    /** Every message up to the pause; the last one is the user turn of tool results, with the pause's tool result to be replaced by the answer. */
    messages: z
      .array(z.object({ role: z.enum(['user', 'assistant']), content: z.array(z.record(z.string(), z.unknown())) }).strict())
      .min(1),
    /** The tool use whose result the answer becomes (`ask_human`); null when the pause came between turns (budget_approval). */
    toolUseId: z.string().min(1).nullable(),
    /** A plan run paused before its plan was approved (a question, or the plan itself): it resumes still in the plan phase unless this pause was the plan's. */
    planPhase: z.boolean().optional(),
  })
  .strict();
export type CheckpointFile = z.infer<typeof CheckpointFile>;

/**
 * A pause of the run (docs/inbox.md#the-mechanism-step-by-step), the one mechanism every reason uses: its work in progress is
 * committed and the run branch pushed (even unchanged, so the next task can check it out), the
 * conversation stored redacted beside the trace (ctx.deps.checkpoints: through the broker in AWS),
 * and the pause reported instead of an ending. Undefined when the loop did not end at a pause.
 */
export async function checkpointIfPaused(ctx: RunContext, agentEnd: AgentEnd, prepared: PreparedRun): Promise<RunEnd | undefined> {
  if (agentEnd.kind !== 'pause') return undefined;
  const { pause, state } = agentEnd;
  const { repo } = prepared;
  const itemId = newRunId();
  // In a plan run's plan phase nothing is committed: the branch is pushed as it is, for the next task to check out.
  const pushed = state.planPhase ? false : await pushWorkInProgress(ctx, prepared, `paused: ${pause.reason}`);
  if (!pushed) await ctx.withHeartbeats(() => repo.pushBranch());
  const file: CheckpointFile = {
    v: 1,
    runId: ctx.run.runId,
    itemId,
    turn: state.turn,
    modelCalls: ctx.deps.model instanceof ReplayProvider ? ctx.deps.model.served : state.turn,
    // Tool output entered the conversation redacted; the redactor runs again over everything kept.
    messages: ctx.redactor.redactValue(state.messages) as unknown as CheckpointFile['messages'],
    toolUseId: state.toolUseId,
    ...(state.planPhase ? { planPhase: true } : {}),
  };
  const checkpoint = await ctx.deps.checkpoints.put(ctx.run.runId, itemId, JSON.stringify(CheckpointFile.parse(file)));
  const message = ctx.redactor.redact(pause.message);
  const waitsFor = isAutomaticPauseReason(pause.reason) ? 'checkpointed to resume without a human' : 'paused for a human';
  await ctx.emit('note', `${waitsFor} (${pause.reason}): ${message}`, {
    itemId,
    reason: pause.reason,
    branch: repo.branch,
    checkpoint,
    pushedWork: pushed,
  });
  const report: RunnerPause = {
    pause: {
      itemId,
      reason: pause.reason,
      message,
      details: ctx.redactor.redactValue(pause.details) as PauseRequest['details'],
      branch: repo.branch,
      checkpoint,
    },
  };
  return { kind: 'paused', report };
}

/**
 * The stored conversation with the resolution in it: as the result of the tool call that paused the
 * run (`ask_human`), or, for a pause between turns, as a note at the end of the last user message
 * (which keeps the roles alternating).
 */
export function conversationWithAnswer(file: CheckpointFile, text: string): Message[] {
  const messages = structuredClone(file.messages) as unknown as Message[];
  const last = messages[messages.length - 1];
  if (last?.role !== 'user') throw new Error(`checkpoint ${file.itemId} does not end with a user message`);
  if (file.toolUseId === null) {
    last.content = [...(last.content ?? []), { text }];
    return messages;
  }
  const asked = (last.content ?? []).find((b: ContentBlock) => b.toolResult?.toolUseId === file.toolUseId);
  if (!asked?.toolResult) throw new Error(`checkpoint ${file.itemId} has no result for tool use ${file.toolUseId} in its last message`);
  asked.toolResult.content = [{ text }];
  asked.toolResult.status = 'success';
  return messages;
}
