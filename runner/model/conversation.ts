import type { ContentBlock, Message, SystemContentBlock, Tool } from '@aws-sdk/client-bedrock-runtime';
import type { ModelRequest } from './provider';

/**
 * The agent's conversation and the Converse requests built from it. Prompt caching checkpoints go
 * after the tools, after the system prompt and on the last two messages (Bedrock allows four), so
 * each request reads the previous one's prefix from the cache. Old tool output is trimmed first
 * when the conversation would not fit the model's window.
 */
const cachePoint = { cachePoint: { type: 'default' } } as const;

export const TRIMMED_NOTE = '[older tool output removed by the runner to keep the conversation inside the model window]';

/** Bytes per token we assume: low on purpose, so reservations over- rather than under-estimate. */
const BYTES_PER_TOKEN = 3;

export function estimateTokens(value: unknown): number {
  return Math.ceil(Buffer.byteLength(JSON.stringify(value)) / BYTES_PER_TOKEN);
}

export interface ConversationOptions {
  modelId: string;
  system: string;
  tools: Tool[];
  maxTokens: number;
  contextWindowTokens: number;
}

export class Conversation {
  readonly messages: Message[] = [];

  constructor(private readonly options: ConversationOptions) {}

  addUser(content: ContentBlock[]): void {
    this.messages.push({ role: 'user', content });
  }

  addAssistant(content: ContentBlock[]): void {
    this.messages.push({ role: 'assistant', content });
  }

  /** The next request; `maxTokens` raises the output limit of this one call (a cut-off call asked again). */
  buildRequest(maxTokens = this.options.maxTokens): ModelRequest {
    this.trimToWindow();
    const last = this.messages.length - 1;
    const messages = this.messages.map((m, i) => (i >= last - 1 ? { ...m, content: [...(m.content ?? []), cachePoint as ContentBlock] } : m));
    return {
      modelId: this.options.modelId,
      system: [{ text: this.options.system }, cachePoint as SystemContentBlock],
      toolConfig: { tools: [...this.options.tools, cachePoint as Tool] },
      messages,
      inferenceConfig: { maxTokens },
    };
  }

  /** The input tokens of the request, estimated on the high side (for the budget reservation). */
  estimateInputTokens(request: ModelRequest): number {
    return estimateTokens({ system: request.system, tools: request.toolConfig, messages: request.messages });
  }

  private inputLimit(): number {
    return Math.floor((this.options.contextWindowTokens - this.options.maxTokens) * 0.9);
  }

  /** Replaces the oldest tool results with a note until the conversation fits; the last four messages stay whole. */
  private trimToWindow(): void {
    const size = () => estimateTokens({ s: this.options.system, t: this.options.tools, m: this.messages });
    if (size() <= this.inputLimit()) return;
    for (let i = 0; i < this.messages.length - 4 && size() > this.inputLimit(); i++) {
      const message = this.messages[i]!;
      message.content = (message.content ?? []).map((block) => {
        if (!block.toolResult) return block;
        const already = block.toolResult.content?.length === 1 && block.toolResult.content[0]?.text === TRIMMED_NOTE;
        return already ? block : { toolResult: { ...block.toolResult, content: [{ text: TRIMMED_NOTE }] } };
      });
    }
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
