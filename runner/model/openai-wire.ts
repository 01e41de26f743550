import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import type { ConverseResponse } from './converse-response';
import { ModelResponseError, UnsupportedRequestError } from './model-errors';
import type { ModelRequest } from './provider';

/**
 * OpenAI-compatible chat completions (POST {baseUrl}/chat/completions), the dialect vLLM, Ollama,
 * LiteLLM and most gateways speak: system/user/assistant/tool messages, function tools with JSON
 * arguments. Converse tool results become `tool` messages right after the assistant message that
 * called them; cache points are dropped (these servers cache prefixes on their own, if at all).
 */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters: unknown };
}
export type MaxTokensParameter = 'max_tokens' | 'max_completion_tokens';
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  tool_choice?: 'auto';
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  stream: false;
}

function resultText(content: readonly object[] | undefined, where: string): string {
  return (content ?? [])
    .map((block) => {
      const b = block as { text?: string; json?: unknown };
      if (typeof b.text === 'string') return b.text;
      if (b.json !== undefined) return JSON.stringify(b.json);
      throw new UnsupportedRequestError(`${where}: only text and json tool result content is supported`);
    })
    .join('\n');
}

export function toChatRequest(request: ModelRequest, model: string, maxTokensParameter: MaxTokensParameter = 'max_tokens'): ChatRequest {
  const messages: ChatMessage[] = [];
  const system = (request.system ?? []).filter((b) => typeof b.text === 'string').map((b) => b.text!);
  if (system.length > 0) messages.push({ role: 'system', content: system.join('\n\n') });
  (request.messages ?? []).forEach((m, i) => {
    const texts: string[] = [];
    const calls: ChatToolCall[] = [];
    const results: ChatMessage[] = [];
    (m.content ?? []).forEach((block, j) => {
      const at = `messages[${i}].content[${j}]`;
      if ('cachePoint' in block && block.cachePoint) return;
      if (typeof block.text === 'string') texts.push(block.text);
      else if (block.toolUse)
        calls.push({
          id: block.toolUse.toolUseId ?? '',
          type: 'function',
          function: { name: block.toolUse.name ?? '', arguments: JSON.stringify(block.toolUse.input ?? {}) },
        });
      else if (block.toolResult) {
        const text = resultText(block.toolResult.content, at);
        results.push({
          role: 'tool',
          tool_call_id: block.toolResult.toolUseId ?? '',
          content: block.toolResult.status === 'error' ? `ERROR: ${text}` : text,
        });
      } else if (block.reasoningContent !== undefined) return;
      else throw new UnsupportedRequestError(`${at}: unsupported content block ${Object.keys(block).join(', ')}`);
    });
    if (m.role === 'assistant') {
      messages.push({
        role: 'assistant',
        content: texts.length > 0 ? texts.join('\n') : null,
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      });
    } else {
      // Tool messages answer the previous assistant message directly; any text of the same turn follows them.
      messages.push(...results);
      if (texts.length > 0) messages.push({ role: 'user', content: texts.join('\n') });
    }
  });
  const tools: ChatTool[] = (request.toolConfig?.tools ?? []).flatMap((tool) =>
    tool.toolSpec
      ? [
          {
            type: 'function' as const,
            function: {
              name: tool.toolSpec.name ?? '',
              ...(tool.toolSpec.description ? { description: tool.toolSpec.description } : {}),
              parameters: tool.toolSpec.inputSchema?.json,
            },
          },
        ]
      : [],
  );
  const inference = request.inferenceConfig ?? {};
  return {
    model,
    messages,
    ...(tools.length > 0 ? { tools, tool_choice: 'auto' as const } : {}),
    [maxTokensParameter]: inference.maxTokens ?? 0,
    ...(inference.temperature !== undefined ? { temperature: inference.temperature } : {}),
    ...(inference.topP !== undefined ? { top_p: inference.topP } : {}),
    ...(inference.stopSequences?.length ? { stop: inference.stopSequences } : {}),
    stream: false,
  };
}

export const ChatResponse = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          role: z.string().optional(),
          content: z.string().nullish(),
          refusal: z.string().nullish(),
          tool_calls: z
            .array(
              z.object({
                id: z.string().nullish(),
                type: z.string().optional(),
                function: z.object({
                  name: z.string().min(1),
                  arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
                }),
              }),
            )
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z.object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
    prompt_tokens_details: z.object({ cached_tokens: z.number().int().nonnegative().nullish() }).nullish(),
    /** LiteLLM in front of Anthropic reports cache writes under Anthropic's name. */
    cache_creation_input_tokens: z.number().int().nonnegative().nullish(),
  }),
});
export type ChatResponse = z.infer<typeof ChatResponse>;

/** The tool-use id rule Converse and Messages share; an id a server sends that breaks it (or none) is replaced. */
const toolUseIdPattern = /^[a-zA-Z0-9_-]{1,64}$/;

function toolInput(raw: string | Record<string, unknown> | null | undefined): Record<string, unknown> {
  if (raw === null || raw === undefined || raw === '') return {};
  if (typeof raw !== 'string') return raw;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    /* below */
  }
  // Small local models sometimes emit broken JSON: the tool refuses this input and the model sees why.
  return { invalid_arguments: raw };
}

export function fromChatResponse(raw: unknown, provider: string): ConverseResponse {
  const parsed = ChatResponse.safeParse(raw);
  if (!parsed.success) throw new ModelResponseError(z.prettifyError(parsed.error), provider);
  const choice = parsed.data.choices[0]!;
  const content: ConverseResponse['output']['message']['content'] = [];
  const text = choice.message.content ?? '';
  if (text.trim() !== '') content.push({ text });
  else if (choice.message.refusal) content.push({ text: choice.message.refusal });
  for (const call of choice.message.tool_calls ?? []) {
    const id = call.id && toolUseIdPattern.test(call.id) ? call.id : `call_${randomBytes(12).toString('hex')}`;
    content.push({ toolUse: { toolUseId: id, name: call.function.name, input: toolInput(call.function.arguments) } });
  }
  const hasCalls = (choice.message.tool_calls ?? []).length > 0;
  const finish = choice.finish_reason ?? 'stop';
  let stopReason: ConverseResponse['stopReason'];
  if (finish === 'length') stopReason = 'max_tokens';
  else if (finish === 'content_filter' || (choice.message.refusal && !hasCalls)) stopReason = 'content_filtered';
  // Some servers (Ollama among them) answer "stop" with tool calls.
  else if (hasCalls || finish === 'tool_calls' || finish === 'function_call') stopReason = 'tool_use';
  else if (finish === 'stop' || finish === 'eos' || finish === 'end_turn') stopReason = 'end_turn';
  else throw new ModelResponseError(`unknown finish_reason ${JSON.stringify(finish)}`, provider);
  const u = parsed.data.usage;
  // prompt_tokens counts cached tokens too; the ledger bills them apart.
  const cacheRead = Math.min(u.prompt_tokens, u.prompt_tokens_details?.cached_tokens ?? 0);
  const cacheWrite = Math.min(u.prompt_tokens - cacheRead, u.cache_creation_input_tokens ?? 0);
  return {
    output: { message: { role: 'assistant', content } },
    stopReason,
    usage: {
      inputTokens: u.prompt_tokens - cacheRead - cacheWrite,
      outputTokens: u.completion_tokens,
      totalTokens: u.prompt_tokens + u.completion_tokens,
      cacheReadInputTokens: cacheRead,
      cacheWriteInputTokens: cacheWrite,
    },
  };
}
