import type { ContentBlock, Message } from '@aws-sdk/client-bedrock-runtime';
import type { AgentEnd } from './loop-state';
import type { RunContext } from './run-context';
import { Interrupted } from './run-errors';

/** Where the agent loop is, kept up to date by it: what an interruption checkpoints. */
export interface LoopProgress {
  /** The conversation (the loop's own array, not a copy). */
  messages: Message[];
  /** The turn in progress (or the last turn of the restored conversation before the first). */
  turn: number;
}

/** The result a tool call gets when SIGTERM stopped it: the resumed agent reads it in its conversation. */
export const INTERRUPTED_TOOL_RESULT =
  'not finished: the runner task was interrupted (SIGTERM) while this ran, so its effects may be partial; check and run it again if needed';

/**
 * SIGTERM from outside the platform while the agent loop runs (a Fargate Spot interruption, in
 * practice; a cancel or timeout never reaches here with a live task token, see docs/runner.md): the
 * loop ends in a pause with reason `interrupted`, so the one checkpoint path (checkpoint.ts) pushes the
 * work in progress, stores the conversation and reports it, and the orchestrator resumes the run at
 * once without a human (core/runs/automatic-resume.ts). Undefined for any other error, and for a
 * cancel, which ends the run as before.
 *
 * `turn` is the turn in progress: its model call may have been reserved and charged already, so the
 * resumed task goes on from the next turn and never reuses its call id.
 */
export function interruptionPause(ctx: RunContext, err: unknown, progress: LoopProgress): Extract<AgentEnd, { kind: 'pause' }> | undefined {
  if (!(err instanceof Interrupted) || !ctx.deps.stop.aborted) return undefined;
  if (/cancel-requested|CANCELLED/.test(err.message) || progress.messages.length === 0) return undefined;
  const { turn } = progress;
  const closed = closeInterruptedTurn(progress.messages);
  return {
    kind: 'pause',
    pause: {
      reason: 'interrupted',
      message: `the runner task was interrupted (SIGTERM) at turn ${turn}: ${err.message}`,
      details: { turn },
    },
    state: { messages: closed, turn, toolUseId: null },
  };
}

/**
 * The conversation as it can go on: it must end with a user message. A turn stopped between the
 * model's answer and the tool results gets a result for every tool use it asked for (the interrupted
 * one and those not run yet).
 */
export function closeInterruptedTurn(messages: Message[]): Message[] {
  const last = messages[messages.length - 1];
  if (last === undefined) throw new Error('an interrupted conversation has no messages');
  if (last.role === 'user') return messages;
  const uses = (last.content ?? []).filter((b: ContentBlock) => b.toolUse?.toolUseId);
  const content: ContentBlock[] = uses.length
    ? uses.map((b) => ({ toolResult: { toolUseId: b.toolUse!.toolUseId!, content: [{ text: INTERRUPTED_TOOL_RESULT }], status: 'error' } }))
    : [{ text: 'The runner task was interrupted after this answer.' }];
  return [...messages, { role: 'user', content }];
}
