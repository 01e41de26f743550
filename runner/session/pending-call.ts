import type { ContentBlock, Message } from '@aws-sdk/client-bedrock-runtime';
import type { CheckpointFile } from './checkpoint';
import type { PendingCall, RestoredConversation } from './loop-state';
import type { FinishGate } from './finish-gate';
import type { RunContext } from './run-context';
import { RunFailure } from './run-errors';
import { runToolCall } from './tool-call';
import type { PreparedRun } from './prepared-run';

/** The held-back call of a risky_action checkpoint: the tool use the pause names, in the assistant turn before the last message. */
export function pendingCallOf(file: CheckpointFile, messages: Message[], approved: boolean, refusal: string): PendingCall {
  const assistant = messages[messages.length - 2];
  const block =
    file.toolUseId === null
      ? undefined
      : (assistant?.content ?? []).find((b: ContentBlock) => b.toolUse?.toolUseId === file.toolUseId)?.toolUse;
  if (!block?.name)
    throw new RunFailure('checkpoint_mismatch', `checkpoint ${file.itemId} has no tool call ${file.toolUseId ?? '(none)'} to resume`);
  return { use: { toolUseId: block.toolUseId!, name: block.name, input: block.input }, approved, refusal };
}

/**
 * A resumed risky_action: the call that waited runs now, once, before the next model turn (approved),
 * or is refused (rejected); either way its result replaces the checkpoint's placeholder, so the agent
 * sees the call's real result or the refusal. It bypasses the gate: the human approved this very call.
 */
export async function settlePendingCall(
  ctx: RunContext,
  run: { prepared: PreparedRun; gate?: FinishGate | undefined; restored?: RestoredConversation | undefined },
  messages: Message[],
): Promise<void> {
  const pending = run.restored?.pending;
  if (!pending) return;
  const last = messages[messages.length - 1];
  const block = (last?.content ?? []).find((b: ContentBlock) => b.toolResult?.toolUseId === pending.use.toolUseId);
  if (!block?.toolResult)
    throw new RunFailure('checkpoint_mismatch', `the restored conversation has no result for tool call ${pending.use.toolUseId}`);
  const { result } = await runToolCall(ctx, run, pending.use, run.restored!.turn, pending.approved ? undefined : pending.refusal);
  if (result.toolResult) block.toolResult = result.toolResult;
}
