import type { MessagesContentBlock, MessagesRequest } from './anthropic-wire';
import type { ChatRequest } from './openai-wire';
import type { ModelRequest } from './provider';
import { toolSchemaProblem } from './tool-schema-check';

/**
 * The request rules each provider documents, as pure checks: a list of violations (path: what is
 * wrong), empty when the provider would accept the request's shape. The replay provider applies the
 * Converse rules to every request of every test session, and the live providers apply them (and
 * their own API's rules to the translated request) before sending, so a runner bug is a clear error
 * rather than a provider's 400.
 *
 * Converse (Bedrock): messages start with a user message and alternate; every toolUse of an assistant
 * message is answered by a toolResult with its id in the next (user) message, and every toolResult
 * answers one; at most 4 cache points; no empty or blank text; every message has content; tool names
 * match ^[a-zA-Z][a-zA-Z0-9_-]{0,63}$, are unique and their input schemas are JSON Schema objects;
 * toolConfig is present when the conversation holds tool blocks; maxTokens is a positive integer.
 */
const converseToolName = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;
/** Anthropic's and OpenAI's function name rule. */
const functionName = /^[a-zA-Z0-9_-]{1,64}$/;
const toolUseId = /^[a-zA-Z0-9_-]{1,64}$/;
export const MAX_CACHE_POINTS = 4;

type Block = Record<string, unknown>;

function isBlank(text: unknown): boolean {
  return typeof text !== 'string' || text.trim() === '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkTools(tools: { name: string; schema: unknown; where: string }[], pattern: RegExp, out: string[]): Set<string> {
  const names = new Set<string>();
  for (const tool of tools) {
    if (!pattern.test(tool.name)) out.push(`${tool.where}: tool name ${JSON.stringify(tool.name)} must match ${pattern.source}`);
    if (names.has(tool.name)) out.push(`${tool.where}: tool name ${tool.name} is declared twice`);
    names.add(tool.name);
    const problem = toolSchemaProblem(tool.schema);
    if (problem) out.push(`${tool.where}: input schema ${problem}`);
  }
  return names;
}

function checkMaxTokens(value: unknown, where: string, out: string[]): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    out.push(`${where}: must be a positive integer, got ${JSON.stringify(value)}`);
}

export function converseRequestViolations(request: ModelRequest): string[] {
  const out: string[] = [];
  if (isBlank(request.modelId)) out.push('modelId: required');
  checkMaxTokens(request.inferenceConfig?.maxTokens, 'inferenceConfig.maxTokens', out);
  let cachePoints = 0;
  const countCachePoint = (block: object, where: string, previous: object | undefined): boolean => {
    if (!('cachePoint' in block) || (block as Block).cachePoint === undefined) return false;
    cachePoints++;
    if (!previous || ('cachePoint' in previous && (previous as Block).cachePoint !== undefined))
      out.push(`${where}: a cache point must follow a content block`);
    return true;
  };
  (request.system ?? []).forEach((block, i) => {
    if (countCachePoint(block, `system[${i}]`, request.system![i - 1])) return;
    if (isBlank(block.text)) out.push(`system[${i}]: text must not be empty`);
  });
  const tools = request.toolConfig?.tools ?? [];
  const specs: { name: string; schema: unknown; where: string }[] = [];
  tools.forEach((tool, i) => {
    if (countCachePoint(tool, `toolConfig.tools[${i}]`, tools[i - 1])) return;
    if (!tool.toolSpec) out.push(`toolConfig.tools[${i}]: must be a toolSpec or a cachePoint`);
    else specs.push({ name: tool.toolSpec.name ?? '', schema: tool.toolSpec.inputSchema?.json, where: `toolConfig.tools[${i}]` });
  });
  checkTools(specs, converseToolName, out);
  if (request.toolConfig && specs.length === 0) out.push('toolConfig.tools: must declare at least one tool');

  const messages = request.messages ?? [];
  if (messages.length === 0) out.push('messages: at least one message is required');
  let hasToolBlocks = false;
  const seenIds = new Set<string>();
  let pending: string[] = [];
  messages.forEach((message, i) => {
    const where = `messages[${i}]`;
    const expected = i % 2 === 0 ? 'user' : 'assistant';
    if (message.role !== expected)
      out.push(`${where}: role must be ${expected} (roles alternate, starting with user), got ${message.role}`);
    const content = message.content ?? [];
    const uses: string[] = [];
    const answered: string[] = [];
    let substantive = 0;
    content.forEach((block, j) => {
      const at = `${where}.content[${j}]`;
      if (countCachePoint(block, at, content[j - 1])) return;
      substantive++;
      if ('text' in block && block.text !== undefined) {
        if (isBlank(block.text)) out.push(`${at}: text must not be empty`);
      } else if (block.toolUse) {
        hasToolBlocks = true;
        if (message.role !== 'assistant') out.push(`${at}: toolUse is only allowed in assistant messages`);
        const id = block.toolUse.toolUseId ?? '';
        if (!toolUseId.test(id)) out.push(`${at}: toolUseId ${JSON.stringify(id)} must match ${toolUseId.source}`);
        if (seenIds.has(id)) out.push(`${at}: toolUseId ${id} is used twice`);
        seenIds.add(id);
        uses.push(id);
        if (!converseToolName.test(block.toolUse.name ?? ''))
          out.push(`${at}: tool name ${JSON.stringify(block.toolUse.name)} must match ${converseToolName.source}`);
        if (!isObject(block.toolUse.input)) out.push(`${at}: toolUse input must be a JSON object`);
      } else if (block.toolResult) {
        hasToolBlocks = true;
        if (message.role !== 'user') out.push(`${at}: toolResult is only allowed in user messages`);
        const id = block.toolResult.toolUseId ?? '';
        answered.push(id);
        if (!pending.includes(id)) out.push(`${at}: toolResult ${JSON.stringify(id)} answers no toolUse of the previous assistant message`);
        const parts = block.toolResult.content ?? [];
        if (parts.length === 0) out.push(`${at}: toolResult content must not be empty`);
        parts.forEach((part, k) => {
          if ('text' in part && part.text !== undefined && isBlank(part.text))
            out.push(`${at}.toolResult.content[${k}]: text must not be empty`);
        });
        if (block.toolResult.status !== undefined && block.toolResult.status !== 'success' && block.toolResult.status !== 'error')
          out.push(`${at}: toolResult status must be success or error`);
      } else if (!('reasoningContent' in block && block.reasoningContent !== undefined)) {
        out.push(`${at}: unsupported content block ${Object.keys(block).join(', ') || '(empty)'}`);
      }
    });
    if (substantive === 0) out.push(`${where}: content must hold at least one block besides cache points`);
    if (new Set(answered).size !== answered.length) out.push(`${where}: a toolUse is answered twice`);
    const missing = pending.filter((id) => !answered.includes(id));
    if (missing.length > 0) out.push(`${where}: must answer toolUse ${missing.join(', ')} of messages[${i - 1}] with toolResult blocks`);
    pending = message.role === 'assistant' ? uses : [];
  });
  if (pending.length > 0)
    out.push(`messages[${messages.length - 1}]: toolUse ${pending.join(', ')} is not answered (the conversation ends on it)`);
  if (cachePoints > MAX_CACHE_POINTS) out.push(`cache points: ${cachePoints}, at most ${MAX_CACHE_POINTS} are allowed`);
  if (hasToolBlocks && !request.toolConfig) out.push('toolConfig: required when messages hold toolUse or toolResult blocks');
  return out;
}

/**
 * Anthropic Messages API: `model` and a positive `max_tokens`; messages start with user and
 * alternate; every tool_use of an assistant message is answered by a tool_result in the next user
 * message, and those tool_result blocks come before any other content of it; no blank text; at most
 * 4 `cache_control` breakpoints; tool names ^[a-zA-Z0-9_-]{1,64}$, unique, with object input schemas.
 */
export function messagesRequestViolations(request: MessagesRequest): string[] {
  const out: string[] = [];
  if (isBlank(request.model)) out.push('model: required');
  checkMaxTokens(request.max_tokens, 'max_tokens', out);
  let breakpoints = 0;
  const count = (block: { cache_control?: unknown }) => {
    if (block.cache_control !== undefined) breakpoints++;
  };
  (request.system ?? []).forEach((block, i) => {
    count(block);
    if (block.type !== 'text' || isBlank(block.text)) out.push(`system[${i}]: must be a non-empty text block`);
  });
  (request.tools ?? []).forEach(count);
  checkTools(
    (request.tools ?? []).map((t, i) => ({ name: t.name, schema: t.input_schema, where: `tools[${i}]` })),
    functionName,
    out,
  );
  if (request.messages.length === 0) out.push('messages: at least one message is required');
  const seen = new Set<string>();
  let pending: string[] = [];
  request.messages.forEach((message, i) => {
    const where = `messages[${i}]`;
    const expected = i % 2 === 0 ? 'user' : 'assistant';
    if (message.role !== expected)
      out.push(`${where}: role must be ${expected} (roles alternate, starting with user), got ${message.role}`);
    if (message.content.length === 0) out.push(`${where}: content must not be empty`);
    const uses: string[] = [];
    const answered: string[] = [];
    let otherSeen = false;
    message.content.forEach((block: MessagesContentBlock, j) => {
      const at = `${where}.content[${j}]`;
      count(block);
      if (block.type === 'text') {
        otherSeen = true;
        if (isBlank(block.text)) out.push(`${at}: text content blocks must contain non-whitespace text`);
      } else if (block.type === 'tool_use') {
        otherSeen = true;
        if (message.role !== 'assistant') out.push(`${at}: tool_use is only allowed in assistant messages`);
        if (!toolUseId.test(block.id)) out.push(`${at}: tool_use id ${JSON.stringify(block.id)} must match ${toolUseId.source}`);
        if (seen.has(block.id)) out.push(`${at}: tool_use id ${block.id} is used twice`);
        seen.add(block.id);
        uses.push(block.id);
        if (!functionName.test(block.name)) out.push(`${at}: tool name ${JSON.stringify(block.name)} must match ${functionName.source}`);
        if (!isObject(block.input)) out.push(`${at}: tool_use input must be an object`);
      } else if (block.type === 'tool_result') {
        if (message.role !== 'user') out.push(`${at}: tool_result is only allowed in user messages`);
        if (otherSeen) out.push(`${at}: tool_result blocks must come before any other content of the message`);
        if (!pending.includes(block.tool_use_id))
          out.push(`${at}: tool_result ${JSON.stringify(block.tool_use_id)} answers no tool_use of the previous message`);
        answered.push(block.tool_use_id);
        block.content.forEach((part, k) => {
          if (part.type !== 'text' || isBlank(part.text)) out.push(`${at}.content[${k}]: must be a non-empty text block`);
        });
      }
    });
    if (new Set(answered).size !== answered.length) out.push(`${where}: a tool_use is answered twice`);
    const missing = pending.filter((id) => !answered.includes(id));
    if (missing.length > 0)
      out.push(`${where}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}`);
    pending = message.role === 'assistant' ? uses : [];
  });
  if (pending.length > 0) out.push(`messages[${request.messages.length - 1}]: tool_use ${pending.join(', ')} is not answered`);
  if (breakpoints > MAX_CACHE_POINTS) out.push(`cache_control: ${breakpoints} breakpoints, at most ${MAX_CACHE_POINTS} are allowed`);
  if (request.tool_choice && !request.tools?.length) out.push('tool_choice: requires tools');
  return out;
}

/**
 * Chat completions (OpenAI and the servers that copy it): `model`; system messages only at the start;
 * then a user message, and turns alternate user → assistant; an assistant message with tool_calls is
 * followed at once by one `tool` message per call id (and nothing else until all are answered), after
 * which the assistant or the user may speak; assistant content is text or null with tool calls;
 * function names ^[a-zA-Z0-9_-]{1,64}$ with JSON-encoded object arguments; tools' parameters are
 * JSON Schema objects; max_tokens (or max_completion_tokens) a positive integer, not both.
 */
export function chatRequestViolations(request: ChatRequest): string[] {
  const out: string[] = [];
  if (isBlank(request.model)) out.push('model: required');
  if (request.max_tokens !== undefined && request.max_completion_tokens !== undefined)
    out.push('max_tokens and max_completion_tokens: set one of them');
  checkMaxTokens(
    request.max_tokens ?? request.max_completion_tokens,
    request.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens',
    out,
  );
  (request.tools ?? []).forEach((t, i) => {
    if (t.type !== 'function') out.push(`tools[${i}]: type must be function`);
  });
  checkTools(
    (request.tools ?? []).map((t, i) => ({ name: t.function.name, schema: t.function.parameters, where: `tools[${i}]` })),
    functionName,
    out,
  );
  if (request.tool_choice && !request.tools?.length) out.push('tool_choice: requires tools');
  if (request.stream !== false) out.push('stream: the runner reads whole responses (false)');

  const messages = request.messages;
  let i = 0;
  while (i < messages.length && messages[i]!.role === 'system') {
    if (isBlank(messages[i]!.content)) out.push(`messages[${i}]: system content must not be empty`);
    i++;
  }
  if (i >= messages.length) out.push('messages: at least one user message is required');
  const seen = new Set<string>();
  let pending: string[] = [];
  let previous: 'start' | 'user' | 'assistant' | 'tool' = 'start';
  for (; i < messages.length; i++) {
    const m = messages[i]!;
    const where = `messages[${i}]`;
    if (pending.length > 0 && m.role !== 'tool') {
      out.push(`${where}: the tool calls ${pending.join(', ')} must each be answered by a tool message before any other message`);
      pending = [];
    }
    switch (m.role) {
      case 'system':
        out.push(`${where}: system messages are only allowed at the start`);
        break;
      case 'user':
        if (previous === 'user') out.push(`${where}: two user messages in a row`);
        if (isBlank(m.content)) out.push(`${where}: user content must not be empty`);
        previous = 'user';
        break;
      case 'assistant': {
        if (previous === 'start') out.push(`${where}: the first message after the system messages must be a user message`);
        if (previous === 'assistant') out.push(`${where}: two assistant messages in a row`);
        const calls = m.tool_calls ?? [];
        if (m.content === null ? calls.length === 0 : isBlank(m.content))
          out.push(`${where}: assistant content must be non-empty text, or null with tool_calls`);
        calls.forEach((call, k) => {
          const at = `${where}.tool_calls[${k}]`;
          if (!toolUseId.test(call.id)) out.push(`${at}: id ${JSON.stringify(call.id)} must match ${toolUseId.source}`);
          if (seen.has(call.id)) out.push(`${at}: id ${call.id} is used twice`);
          seen.add(call.id);
          if (call.type !== 'function') out.push(`${at}: type must be function`);
          if (!functionName.test(call.function.name))
            out.push(`${at}: function name ${JSON.stringify(call.function.name)} must match ${functionName.source}`);
          let args: unknown;
          try {
            args = JSON.parse(call.function.arguments);
          } catch {
            args = undefined;
          }
          if (!isObject(args)) out.push(`${at}: arguments must be a JSON-encoded object`);
        });
        pending = calls.map((c) => c.id);
        previous = 'assistant';
        break;
      }
      case 'tool':
        if (!pending.includes(m.tool_call_id))
          out.push(
            `${where}: tool message ${JSON.stringify(m.tool_call_id)} answers no pending tool call of the previous assistant message`,
          );
        pending = pending.filter((id) => id !== m.tool_call_id);
        if (isBlank(m.content)) out.push(`${where}: tool content must not be empty`);
        previous = 'tool';
        break;
    }
  }
  if (pending.length > 0) out.push(`messages: the tool calls ${pending.join(', ')} are not answered`);
  return out;
}
