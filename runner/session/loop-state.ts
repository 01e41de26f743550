import type { Message } from '@aws-sdk/client-bedrock-runtime';
import type * as z from 'zod';
import type { InboxDetails } from '../../core/inbox/inbox-item';
import type { CheckpointReason } from '../../core/inbox/pause-report';
import type { ToolControl } from '../tools/tool-executor';
import type { ToolUse } from './tool-call';

/**
 * What the agent loop (runner/session/agent-loop.ts) and the pause around it (checkpoint.ts, resume.ts,
 * pending-call.ts) say to each other: how a loop ended, the state a pause keeps, and the conversation a
 * resume restores. Types only, so each of those modules names them without importing the others.
 */

/** The agent loop's state when it stopped at a control tool, which a pause keeps. */
export interface LoopState {
  messages: Message[];
  turn: number;
  /** The toolUseId of the tool call that paused the loop, or null for a pause between turns. */
  toolUseId: string | null;
  /** A plan run whose plan is not approved yet (runner/session/tool-gate.ts). */
  planPhase?: boolean;
}

/** Why the agent loop stopped: for a human (one inbox item's type, its message and details), or an interruption that resumes without one. */
export interface PauseRequest {
  reason: CheckpointReason;
  message: string;
  details: z.infer<typeof InboxDetails>;
}

/**
 * How the agent's loop ended: `finish`, a pause (with the loop's state, which runner/session/checkpoint.ts
 * keeps: every reason to wait for a human ends the loop this way), a turn without tool calls, or the turn limit.
 */
export type AgentEnd =
  | { kind: 'control'; control: Extract<ToolControl, { kind: 'finish' }> }
  | { kind: 'pause'; pause: PauseRequest; state: LoopState }
  | { kind: 'end_turn'; text: string }
  | { kind: 'turn_limit' };

/** A conversation restored from a pause, with the answer in it: where the agent loop goes on. */
export interface RestoredConversation {
  messages: Message[];
  /** The last model turn before the pause. */
  turn: number;
  /** A plan run whose plan is still to be approved (it paused in the plan phase for another reason). */
  planPhase: boolean;
  /** A `risky_action` pause: the call that waited, to run now (approved) or to refuse (rejected), exactly once. */
  pending?: PendingCall;
}

/** The tool call a `risky_action` pause held back, and how its human decided. */
export interface PendingCall {
  use: ToolUse;
  approved: boolean;
  /** The tool result of a rejected call (the refusal the resolution wrote). */
  refusal: string;
}
