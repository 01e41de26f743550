import type { ContentBlock, Message, SystemContentBlock, Tool } from '@aws-sdk/client-bedrock-runtime';
import { compact, type CompactionResult } from './compaction';
import type { ModelRequest } from './provider';
// One estimate for the runner's reservations and the submit-time budget floor.
import { estimateTokens } from '../../core/pricing';

/**
 * The agent's conversation and the Converse requests built from it. Prompt caching checkpoints go
 * after the system prompt (its prefix holds the tools, which come first: a checkpoint after the tools
 * would waste one of Bedrock's four) and on the last two messages, so each request reads the previous
 * one's prefix from the cache. Near the model's window, old tool output is cleared in one cut to
 * about half (runner/model/compaction.ts), so the prefix is rewritten once per cut.
 */
const cachePoint = { cachePoint: { type: 'default' } } as const;

/** Compaction starts above this share of the input limit and cuts down to COMPACT_TO. */
const HIGH_WATER = 0.85;
const COMPACT_TO = 0.5;

export const EMPTY_REPLY_NOTE = '[the model returned no content]';

export interface ConversationOptions {
  modelId: string;
  system: string;
  tools: Tool[];
  maxTokens: number;
  contextWindowTokens: number;
}

export class Conversation {
  readonly messages: Message[] = [];
  /** What each compaction cleared, in order (for events and tests). */
  readonly compactions: CompactionResult[] = [];
  /**
   * The input limit learned from a context-window overflow: the estimate let through a conversation
   * the model refused, so the limit drops below what was refused and stays there for the run.
   */
  private learnedLimit: number | undefined;

  constructor(private readonly options: ConversationOptions) {}

  addUser(content: ContentBlock[]): void {
    this.messages.push({ role: 'user', content });
  }

  /**
   * The model's reply as the next request will carry it. Every provider refuses blank text blocks and
   * empty messages in a request, though a model may return either (an empty end_turn, text that is
   * only a newline before a tool call), so those are dropped and an empty reply is kept as a note.
   */
  addAssistant(content: ContentBlock[]): void {
    const kept = content.filter((block) => !('text' in block && typeof block.text === 'string' && block.text.trim() === ''));
    this.messages.push({ role: 'assistant', content: kept.length > 0 ? kept : [{ text: EMPTY_REPLY_NOTE }] });
  }

  /** The next request; `maxTokens` raises the output limit of this one call (a cut-off call asked again). */
  buildRequest(maxTokens = this.options.maxTokens): ModelRequest {
    this.compactNearWindow();
    const last = this.messages.length - 1;
    const messages = this.messages.map((m, i) =>
      i >= last - 1 ? { ...m, content: [...(m.content ?? []), cachePoint as ContentBlock] } : m,
    );
    return {
      modelId: this.options.modelId,
      system: [{ text: this.options.system }, cachePoint as SystemContentBlock],
      toolConfig: { tools: [...this.options.tools] },
      messages,
      inferenceConfig: { maxTokens },
    };
  }

  /** The input tokens of the request, estimated on the high side (for the budget reservation). */
  estimateInputTokens(request: ModelRequest): number {
    return estimateTokens({ system: request.system, tools: request.toolConfig, messages: request.messages });
  }

  private inputLimit(): number {
    const configured = Math.floor((this.options.contextWindowTokens - this.options.maxTokens) * 0.9);
    return Math.min(configured, this.learnedLimit ?? configured);
  }

  /**
   * After the model refused the conversation as too long for its window: the limit drops to 90% of
   * what was refused and the conversation is cut at once (the same cut as near the window, to about
   * half the limit), so the turn can be asked again. Tool uses and their results stay paired: only
   * their content is replaced. Returns what was cleared (nothing: there is nothing left to clear).
   */
  compactAfterOverflow(): CompactionResult {
    this.learnedLimit = Math.floor(Math.min(this.size(), this.inputLimit()) * 0.9);
    const result = compact(this.messages, () => this.size(), Math.floor(this.inputLimit() * COMPACT_TO));
    if (result.clearedResults || result.clearedInputs) this.compactions.push(result);
    return result;
  }

  /** The conversation's size as the next request would carry it (tokens, estimated high). */
  size(): number {
    return estimateTokens({ s: this.options.system, t: this.options.tools, m: this.messages });
  }

  /** One cut to about half the limit when the conversation passes the high-water mark. */
  private compactNearWindow(): void {
    const limit = this.inputLimit();
    if (this.size() <= limit * HIGH_WATER) return;
    const result = compact(this.messages, () => this.size(), Math.floor(limit * COMPACT_TO));
    if (result.clearedResults || result.clearedInputs) this.compactions.push(result);
  }
}

/**
 * The share of a request's input that lies before its last cache checkpoint, in Anthropic's
 * processing order (tools, system, messages): what the next call can read from the cache.
 */
export function cachedPrefixShare(request: ModelRequest): number {
  const parts: { tokens: number; checkpoint: boolean }[] = [];
  const add = (items: readonly unknown[] | undefined) => {
    for (const item of items ?? []) {
      const isCheckpoint = typeof item === 'object' && item !== null && 'cachePoint' in item;
      parts.push({ tokens: isCheckpoint ? 0 : estimateTokens(item), checkpoint: isCheckpoint });
    }
  };
  add(request.toolConfig?.tools);
  add(request.system);
  for (const message of request.messages ?? []) add(message.content);
  const total = parts.reduce((sum, p) => sum + p.tokens, 0);
  let lastCheckpoint = -1;
  parts.forEach((p, i) => {
    if (p.checkpoint) lastCheckpoint = i;
  });
  const before = parts.slice(0, lastCheckpoint + 1).reduce((sum, p) => sum + p.tokens, 0);
  return total === 0 ? 0 : before / total;
}

function blocksOf(request: ModelRequest): { key: string; tokens: number; checkpoint: boolean }[] {
  const out: { key: string; tokens: number; checkpoint: boolean }[] = [];
  const add = (items: readonly unknown[] | undefined) => {
    for (const item of items ?? []) {
      const checkpoint = typeof item === 'object' && item !== null && 'cachePoint' in item;
      const key = JSON.stringify(item);
      out.push({ key, tokens: checkpoint ? 0 : estimateTokens(item), checkpoint });
    }
  };
  add(request.toolConfig?.tools);
  add(request.system);
  for (const message of request.messages ?? []) add(message.content);
  return out;
}

/**
 * The share of a request's input that the previous request wrote to the cache: the common prefix of
 * the two, up to the previous request's last checkpoint (what a cache read can serve).
 */
export function cacheReadableShare(previous: ModelRequest, current: ModelRequest): number {
  const before = blocksOf(previous);
  const now = blocksOf(current);
  let lastCheckpoint = -1;
  before.forEach((b, i) => {
    if (b.checkpoint) lastCheckpoint = i;
  });
  const prevContent = before.slice(0, lastCheckpoint + 1).filter((b) => !b.checkpoint);
  const nowContent = now.filter((b) => !b.checkpoint);
  let shared = 0;
  let sharedTokens = 0;
  while (shared < prevContent.length && shared < nowContent.length && prevContent[shared]!.key === nowContent[shared]!.key) {
    sharedTokens += nowContent[shared]!.tokens;
    shared++;
  }
  const total = nowContent.reduce((sum, b) => sum + b.tokens, 0);
  return total === 0 ? 0 : sharedTokens / total;
}
