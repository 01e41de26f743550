import * as z from 'zod';
import type { ConverseResponse } from './converse-response';
import type { ModelRequest } from './provider';
import { ModelResponseError, UnsupportedRequestError } from './model-errors';

/**
 * Anthropic's Messages API (POST /v1/messages), as the runner uses it: text, tool use and tool
 * results, prompt caching with `cache_control` breakpoints. The translators map the runner's
 * Converse-shaped requests to Messages requests and Messages responses back to Converse responses.
 */
export const ANTHROPIC_VERSION = '2023-06-01';

export interface CacheControl {
  type: 'ephemeral';
}
export interface MessagesTextBlock {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}
export interface MessagesToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
  cache_control?: CacheControl;
}
export interface MessagesToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: MessagesTextBlock[];
  is_error?: boolean;
  cache_control?: CacheControl;
}
export type MessagesContentBlock = MessagesTextBlock | MessagesToolUseBlock | MessagesToolResultBlock;
export interface MessagesMessage {
  role: 'user' | 'assistant';
  content: MessagesContentBlock[];
}
export interface MessagesTool {
  name: string;
  description?: string;
  input_schema: unknown;
  cache_control?: CacheControl;
}
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: MessagesTextBlock[];
  messages: MessagesMessage[];
  tools?: MessagesTool[];
  tool_choice?: { type: 'auto' };
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
}

const ephemeral: CacheControl = { type: 'ephemeral' };

function isCachePoint(block: object): boolean {
  return 'cachePoint' in block && (block as { cachePoint?: unknown }).cachePoint !== undefined;
}

/** Converse places a cache point after the block it closes; Messages marks that block itself. */
function markPrevious(out: { cache_control?: CacheControl }[], where: string): void {
  const last = out[out.length - 1];
  if (!last) throw new UnsupportedRequestError(`${where}: a cache point must follow a content block`);
  last.cache_control = ephemeral;
}

function toolResultText(content: readonly object[] | undefined, where: string): MessagesTextBlock[] {
  const out: MessagesTextBlock[] = [];
  for (const block of content ?? []) {
    const b = block as { text?: string; json?: unknown };
    if (typeof b.text === 'string') out.push({ type: 'text', text: b.text });
    else if (b.json !== undefined) out.push({ type: 'text', text: JSON.stringify(b.json) });
    else
      throw new UnsupportedRequestError(
        `${where}: only text and json tool result content is supported, got ${Object.keys(block).join(', ')}`,
      );
  }
  return out;
}

function contentToMessages(content: readonly object[], where: string): MessagesContentBlock[] {
  const out: MessagesContentBlock[] = [];
  content.forEach((block, i) => {
    const at = `${where}.content[${i}]`;
    const b = block as {
      text?: string;
      toolUse?: { toolUseId?: string; name?: string; input?: unknown };
      toolResult?: { toolUseId?: string; content?: object[]; status?: string };
      reasoningContent?: unknown;
    };
    if (isCachePoint(block)) markPrevious(out, at);
    else if (typeof b.text === 'string') out.push({ type: 'text', text: b.text });
    else if (b.toolUse)
      out.push({ type: 'tool_use', id: b.toolUse.toolUseId ?? '', name: b.toolUse.name ?? '', input: b.toolUse.input ?? {} });
    else if (b.toolResult) {
      out.push({
        type: 'tool_result',
        tool_use_id: b.toolResult.toolUseId ?? '',
        content: toolResultText(b.toolResult.content, at),
        ...(b.toolResult.status === 'error' ? { is_error: true } : {}),
      });
    } else if (b.reasoningContent !== undefined) {
      // The runner never enables extended thinking; reasoning from another provider is not sent back.
    } else throw new UnsupportedRequestError(`${at}: unsupported content block ${Object.keys(block).join(', ')}`);
  });
  return out;
}

/** The Messages request for a Converse request; `model` replaces the Converse modelId. */
export function toMessagesRequest(request: ModelRequest, model: string): MessagesRequest {
  const system: MessagesTextBlock[] = [];
  (request.system ?? []).forEach((block, i) => {
    if (isCachePoint(block)) markPrevious(system, `system[${i}]`);
    else if (typeof block.text === 'string') system.push({ type: 'text', text: block.text });
    else throw new UnsupportedRequestError(`system[${i}]: only text system blocks are supported`);
  });
  const tools: MessagesTool[] = [];
  (request.toolConfig?.tools ?? []).forEach((tool, i) => {
    if (isCachePoint(tool)) markPrevious(tools, `toolConfig.tools[${i}]`);
    else if (tool.toolSpec) {
      tools.push({
        name: tool.toolSpec.name ?? '',
        ...(tool.toolSpec.description ? { description: tool.toolSpec.description } : {}),
        input_schema: tool.toolSpec.inputSchema?.json,
      });
    } else throw new UnsupportedRequestError(`toolConfig.tools[${i}]: only toolSpec tools are supported`);
  });
  const messages: MessagesMessage[] = (request.messages ?? []).map((m, i) => ({
    role: m.role === 'assistant' ? 'assistant' : 'user',
    content: contentToMessages(m.content ?? [], `messages[${i}]`),
  }));
  const inference = request.inferenceConfig ?? {};
  return {
    model,
    max_tokens: inference.maxTokens ?? 0,
    ...(system.length > 0 ? { system } : {}),
    messages,
    ...(tools.length > 0 ? { tools, tool_choice: { type: 'auto' as const } } : {}),
    ...(inference.temperature !== undefined ? { temperature: inference.temperature } : {}),
    ...(inference.topP !== undefined ? { top_p: inference.topP } : {}),
    ...(inference.stopSequences?.length ? { stop_sequences: inference.stopSequences } : {}),
  };
}

/** The part of a Messages response the runner uses (unknown fields are ignored). */
export const MessagesResponse = z.object({
  type: z.literal('message'),
  role: z.literal('assistant'),
  content: z.array(z.object({ type: z.string() }).passthrough()),
  stop_reason: z.string().nullable(),
  usage: z.object({
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    cache_read_input_tokens: z.number().int().nonnegative().nullish(),
    cache_creation_input_tokens: z.number().int().nonnegative().nullish(),
  }),
});
export type MessagesResponse = z.infer<typeof MessagesResponse>;

const TextBlock = z.object({ type: z.literal('text'), text: z.string() });
const ToolUseBlock = z.object({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
});

const stopReasons: Record<string, ConverseResponse['stopReason']> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  refusal: 'content_filtered',
  model_context_window_exceeded: 'model_context_window_exceeded',
  // Only server tools pause a turn; the runner uses none, so a paused turn ends like any other.
  pause_turn: 'end_turn',
};

/** The Converse response for a Messages response. Usage keeps cache reads and writes apart from plain input, as both APIs do. */
export function fromMessagesResponse(raw: unknown): ConverseResponse {
  const parsed = MessagesResponse.safeParse(raw);
  if (!parsed.success) throw new ModelResponseError(z.prettifyError(parsed.error), 'Anthropic');
  const response = parsed.data;
  const content: ConverseResponse['output']['message']['content'] = [];
  response.content.forEach((block, i) => {
    if (block.type === 'text') {
      const text = TextBlock.safeParse(block);
      if (!text.success) throw new ModelResponseError(`content[${i}]: ${z.prettifyError(text.error)}`, 'Anthropic');
      if (text.data.text !== '') content.push({ text: text.data.text });
    } else if (block.type === 'tool_use') {
      const use = ToolUseBlock.safeParse(block);
      if (!use.success) throw new ModelResponseError(`content[${i}]: ${z.prettifyError(use.error)}`, 'Anthropic');
      content.push({ toolUse: { toolUseId: use.data.id, name: use.data.name, input: use.data.input } });
    } else if (block.type === 'thinking' || block.type === 'redacted_thinking') {
      // Not requested by the runner; not part of the conversation it keeps.
    } else throw new ModelResponseError(`content[${i}]: unsupported block type ${JSON.stringify(block.type)}`, 'Anthropic');
  });
  const stopReason = response.stop_reason === null ? undefined : stopReasons[response.stop_reason];
  if (!stopReason) throw new ModelResponseError(`unknown stop_reason ${JSON.stringify(response.stop_reason)}`, 'Anthropic');
  const u = response.usage;
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  return {
    output: { message: { role: 'assistant', content } },
    stopReason,
    usage: {
      inputTokens: u.input_tokens,
      outputTokens: u.output_tokens,
      totalTokens: u.input_tokens + u.output_tokens + cacheRead + cacheWrite,
      cacheReadInputTokens: cacheRead,
      cacheWriteInputTokens: cacheWrite,
    },
  };
}
