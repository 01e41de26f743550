import * as z from 'zod';
import type { TokenUsage } from '../../core/pricing';

/**
 * The part of a Bedrock Converse response the runner uses. Both providers return it: the Bedrock
 * provider validates what the service sent, the replay provider each recorded line (docs/providers.md#requests-a-provider-accepts).
 */
export const ConverseContentBlock = z.object({
  text: z.string().optional(),
  toolUse: z.object({ toolUseId: z.string().min(1), name: z.string().min(1), input: z.unknown() }).optional(),
  reasoningContent: z.unknown().optional(),
});

export const ConverseResponse = z.object({
  output: z.object({
    message: z.object({ role: z.literal('assistant'), content: z.array(ConverseContentBlock) }),
  }),
  stopReason: z.enum([
    'end_turn',
    'tool_use',
    'max_tokens',
    'stop_sequence',
    'guardrail_intervened',
    'content_filtered',
    'model_context_window_exceeded',
  ]),
  usage: z.object({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
    totalTokens: z.number().int().nonnegative().optional(),
    cacheReadInputTokens: z.number().int().nonnegative().optional(),
    cacheWriteInputTokens: z.number().int().nonnegative().optional(),
  }),
});
export type ConverseResponse = z.infer<typeof ConverseResponse>;

/** Converse usage in the ledger's terms (cache reads and writes are billed apart from plain input). */
export function usageOf(response: ConverseResponse): TokenUsage {
  return {
    input: response.usage.inputTokens,
    output: response.usage.outputTokens,
    cacheRead: response.usage.cacheReadInputTokens ?? 0,
    cacheWrite: response.usage.cacheWriteInputTokens ?? 0,
  };
}
