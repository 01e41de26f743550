import { microsToUsd } from '../../core/pricing';
import type { ConverseResponse } from '../model/converse-response';

/**
 * Loop control: what the agent loop does with a model response that is not a plain set of tool
 * calls. Pure decisions, so every path is unit-tested without a model; agent-loop.ts carries them out.
 *
 * - A text-only turn ("Now I'll run the tests.") gets a short continue message, at most
 *   `TEXT_ONLY_NUDGES` times in the run; the next text-only turn ends the loop.
 * - A response cut off by `max_tokens` (a tool call, typically a whole-file write, that did not fit)
 *   is asked again with more output tokens (`retryMaxTokens`); cut off at that limit too, the model is
 *   told to work in smaller pieces.
 * - A context-window overflow (the stop reason, or the provider refusing the request as too long) is
 *   answered by compacting the conversation and asking the turn again, at most `CONTEXT_RETRIES`
 *   times in a row; one more overflow ends the loop like the stops below.
 * - Guardrail, content-filter and (after its retries) context-window stops end the loop with that
 *   reason: the run pushes its work in progress and never opens a "finished" PR.
 */
export const TEXT_ONLY_NUDGES = 2;

/** Compact-and-retry attempts after context-window overflows in a row (a turn that fits resets the count). */
export const CONTEXT_RETRIES = 2;

export const CONTINUE_MESSAGE =
  'You replied without calling a tool. If the task is done, call `finish` (the runner then verifies it); if you need a human, call `ask_human`; otherwise continue with a tool call.';

export type ModelStopReason = 'guardrail_intervened' | 'content_filtered' | 'model_context_window_exceeded';

export type LoopDecision =
  /** Run the tool calls. */
  | { action: 'tools' }
  /** Keep the turn and answer it with this user message. */
  | { action: 'nudge'; message: string }
  /** Ask the same request again with this output limit; the cut-off response is dropped. */
  | { action: 'retry'; maxTokens: number }
  /** Keep the turn's text (without its cut-off tool call) and answer with this message. */
  | { action: 'cut_off'; message: string }
  /** Compact the conversation and ask the turn again (the overflowed response is dropped). */
  | { action: 'compact'; attempt: number }
  /** The agent ended its turn for good. */
  | { action: 'end_turn' }
  /** The model stopped for a reason that is not the agent's choice. */
  | { action: 'stop'; reason: ModelStopReason };

export interface LoopControlOptions {
  maxTurns: number;
  /** The configured output limit of a normal call. */
  maxTokens: number;
  /** The output limit of a retried cut-off call (at least maxTokens). */
  retryMaxTokens: number;
  budgetMicros: number;
}

/** Output tokens a cut-off call is retried with: four times the configured limit, within what the models allow. */
export function retryMaxTokensFor(maxTokens: number): number {
  return Math.max(maxTokens, Math.min(maxTokens * 4, 64_000));
}

export class LoopControl {
  private nudges = 0;
  private overflows = 0;
  private nextMaxTokens: number;

  constructor(private readonly options: LoopControlOptions) {
    this.nextMaxTokens = options.maxTokens;
  }

  /** The output limit of the next call (raised only for the retry of a cut-off call). */
  get maxTokens(): number {
    return this.nextMaxTokens;
  }

  get nudgesUsed(): number {
    return this.nudges;
  }

  decide(response: Pick<ConverseResponse, 'stopReason' | 'output'>): LoopDecision {
    const asked = this.nextMaxTokens;
    this.nextMaxTokens = this.options.maxTokens;
    const { stopReason } = response;
    if (stopReason === 'model_context_window_exceeded') return this.contextOverflow();
    this.overflows = 0;
    if (stopReason === 'guardrail_intervened' || stopReason === 'content_filtered') return { action: 'stop', reason: stopReason };
    if (stopReason === 'max_tokens') {
      if (asked < this.options.retryMaxTokens) {
        this.nextMaxTokens = this.options.retryMaxTokens;
        return { action: 'retry', maxTokens: this.options.retryMaxTokens };
      }
      return {
        action: 'cut_off',
        message: `Your reply was cut off at the output limit (${asked} tokens), so its tool call was dropped. Work in smaller pieces: write a large file as a first part with write_file, then add the rest with edit_file.`,
      };
    }
    const hasTools = response.output.message.content.some((b) => b.toolUse);
    if (hasTools) return { action: 'tools' };
    if (this.nudges < TEXT_ONLY_NUDGES) {
      this.nudges += 1;
      return { action: 'nudge', message: CONTINUE_MESSAGE };
    }
    return { action: 'end_turn' };
  }

  /** A turn that did not fit the window (stopped for it, or refused as too long): compact and retry, or stop. */
  contextOverflow(): LoopDecision {
    this.nextMaxTokens = this.options.maxTokens;
    if (this.overflows >= CONTEXT_RETRIES) return { action: 'stop', reason: 'model_context_window_exceeded' };
    this.overflows += 1;
    return { action: 'compact', attempt: this.overflows };
  }

  /**
   * A note for the model when it nears its turn limit (the last 20%, at least 3 turns) or its budget
   * (less than 20% left); undefined otherwise. `turn` is the turn just taken.
   */
  limitsNote(turn: number, spentMicros: number): string | undefined {
    const { maxTurns, budgetMicros } = this.options;
    const turnsLeft = maxTurns - turn;
    const leftMicros = Math.max(0, budgetMicros - spentMicros);
    const nearTurns = turnsLeft <= Math.max(3, Math.ceil(maxTurns * 0.2));
    const nearBudget = budgetMicros > 0 && leftMicros < budgetMicros * 0.2;
    if (!nearTurns && !nearBudget) return undefined;
    const parts = [
      `${turnsLeft} model turn${turnsLeft === 1 ? '' : 's'} left of ${maxTurns}`,
      `$${microsToUsd(leftMicros).toFixed(2)} of the $${microsToUsd(budgetMicros).toFixed(2)} budget left`,
    ];
    return `[runner] ${parts.join('; ')}. Wrap up: make sure the change is complete and verified, then call \`finish\` (what is not done goes into its risks).`;
  }
}

/** What the run reports when the model stopped the loop itself. */
export function modelStopMessage(reason: ModelStopReason): string {
  switch (reason) {
    case 'guardrail_intervened':
      return 'the model provider\u2019s guardrail stopped the response';
    case 'content_filtered':
      return 'the model provider\u2019s content filter stopped the response';
    case 'model_context_window_exceeded':
      return 'the conversation no longer fits the model\u2019s context window';
  }
}
