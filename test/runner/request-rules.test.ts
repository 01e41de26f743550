import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toMessagesRequest } from '../../runner/model/anthropic-wire';
import { Conversation, EMPTY_REPLY_NOTE } from '../../runner/model/conversation';
import { InvalidModelRequestError } from '../../runner/model/model-errors';
import { toChatRequest } from '../../runner/model/openai-wire';
import type { ModelRequest } from '../../runner/model/provider';
import { ReplayProvider } from '../../runner/model/replay-provider';
import { chatRequestViolations, converseRequestViolations, messagesRequestViolations } from '../../runner/model/request-rules';
import { toolSpecs } from '../../runner/tools/definitions';

const tools = toolSpecs();

function conversation(contextWindowTokens = 200_000): Conversation {
  return new Conversation({ modelId: 'm', system: 'system prompt', tools, maxTokens: 1024, contextWindowTokens });
}

/** A request with one answered tool call: valid under every API's rules. */
function valid(): ModelRequest {
  const c = conversation();
  c.addUser([{ text: 'task' }]);
  c.addAssistant([
    { text: 'reading' },
    { toolUse: { toolUseId: 't1', name: 'read_file', input: { path: 'a' } } },
    { toolUse: { toolUseId: 't2', name: 'list_files', input: {} } },
  ]);
  c.addUser([
    { toolResult: { toolUseId: 't1', content: [{ text: 'x' }], status: 'success' } },
    { toolResult: { toolUseId: 't2', content: [{ text: 'a\nb' }], status: 'error' } },
  ]);
  return c.buildRequest();
}

/** Every API's violations for one Converse request (translated for the other two). */
function allViolations(request: ModelRequest): { converse: string[]; messages: string[]; chat: string[] } {
  return {
    converse: converseRequestViolations(request),
    messages: messagesRequestViolations(toMessagesRequest(request, 'claude')),
    chat: chatRequestViolations(toChatRequest(request, 'gpt')),
  };
}

describe('provider request rules', () => {
  it('Given what the runner builds, When it is checked in all three dialects, Then it is accepted', () => {
    expect(allViolations(valid())).toEqual({ converse: [], messages: [], chat: [] });
  });

  it('Given roles that do not alternate from the user, When the request is checked, Then it is refused', () => {
    const request = valid();
    request.messages = [request.messages![1]!, ...request.messages!];
    const v = allViolations(request);
    expect(v.converse).toContainEqual(expect.stringContaining('messages[0]: role must be user'));
    expect(v.messages).toContainEqual(expect.stringContaining('messages[0]: role must be user'));
    expect(v.chat).toContainEqual(expect.stringContaining('the first message after the system messages must be a user message'));

    const twice = valid();
    twice.messages!.push({ role: 'user', content: [{ text: 'more' }] });
    expect(converseRequestViolations(twice)).toContainEqual(expect.stringContaining('messages[3]: role must be assistant'));
    expect(messagesRequestViolations(toMessagesRequest(twice, 'c'))).toContainEqual(
      expect.stringContaining('messages[3]: role must be assistant'),
    );
  });

  it('Given a toolUse the next message does not answer, or a toolResult that answers nothing, When the request is checked, Then it is refused', () => {
    const unanswered = valid();
    unanswered.messages![2]!.content = unanswered.messages![2]!.content!.filter((b) => b.toolResult?.toolUseId !== 't2');
    const v = allViolations(unanswered);
    expect(v.converse).toContainEqual(expect.stringContaining('must answer toolUse t2 of messages[1]'));
    expect(v.messages).toContainEqual(expect.stringContaining('tool_use ids were found without tool_result blocks immediately after: t2'));
    expect(v.chat).toContainEqual(expect.stringContaining('the tool calls t2 are not answered'));

    const stray = valid();
    stray.messages![2]!.content![0] = { toolResult: { toolUseId: 'nope', content: [{ text: 'x' }] } };
    expect(converseRequestViolations(stray)).toContainEqual(expect.stringContaining('toolResult "nope" answers no toolUse'));
    expect(chatRequestViolations(toChatRequest(stray, 'g'))).toContainEqual(
      expect.stringContaining('tool message "nope" answers no pending tool call'),
    );

    const ending = valid();
    ending.messages = ending.messages!.slice(0, 2);
    expect(converseRequestViolations(ending)).toContainEqual(expect.stringContaining('is not answered (the conversation ends on it)'));
  });

  it('Given a user message whose tool results do not come first (Messages) or a user turn between a call and its result (chat), When the request is checked, Then it is refused', () => {
    const request = valid();
    request.messages![2]!.content!.unshift({ text: 'note first' });
    expect(converseRequestViolations(request)).toEqual([]);
    expect(messagesRequestViolations(toMessagesRequest(request, 'c'))).toContainEqual(
      expect.stringContaining('tool_result blocks must come before any other content'),
    );
    // The chat translation puts tool messages first itself.
    expect(chatRequestViolations(toChatRequest(request, 'g'))).toEqual([]);
    const chat = toChatRequest(valid(), 'g');
    chat.messages.splice(3, 0, { role: 'user', content: 'hello' });
    expect(chatRequestViolations(chat)).toContainEqual(
      expect.stringContaining('must each be answered by a tool message before any other message'),
    );
  });

  it('Given more than four cache points, When the request is checked, Then it is refused', () => {
    const request = valid();
    // The conversation places three (after the system prompt, on the last two messages): two more make five.
    request.messages![0]!.content!.push({ cachePoint: { type: 'default' } }, { text: 'more' }, { cachePoint: { type: 'default' } });
    const v = allViolations(request);
    expect(v.converse).toContainEqual('cache points: 5, at most 4 are allowed');
    expect(v.messages).toContainEqual('cache_control: 5 breakpoints, at most 4 are allowed');
  });

  it('Given empty and blank text, empty messages or empty tool results, When the request is checked, Then it is refused', () => {
    const request = valid();
    request.messages![0]!.content = [{ text: '  \n' }];
    request.messages![1]!.content!.unshift({ text: '' });
    request.messages![2]!.content![0] = { toolResult: { toolUseId: 't1', content: [] } };
    const v = allViolations(request);
    expect(v.converse).toEqual(
      expect.arrayContaining([
        expect.stringContaining('messages[0].content[0]: text must not be empty'),
        expect.stringContaining('messages[1].content[0]: text must not be empty'),
        expect.stringContaining('toolResult content must not be empty'),
      ]),
    );
    expect(v.messages).toContainEqual(
      expect.stringContaining('messages[0].content[0]: text content blocks must contain non-whitespace text'),
    );
    expect(v.chat).toContainEqual(expect.stringContaining('user content must not be empty'));

    const onlyCache = valid();
    onlyCache.messages![0]!.content = [{ cachePoint: { type: 'default' } }];
    expect(converseRequestViolations(onlyCache)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('a cache point must follow a content block'),
        expect.stringContaining('content must hold at least one block besides cache points'),
      ]),
    );
  });

  it('Given bad tool names, duplicates, schemas that are not JSON Schema objects or tool blocks without toolConfig, When the request is checked, Then it is refused', () => {
    const request = valid();
    request.toolConfig = {
      tools: [
        { toolSpec: { name: '1shell', inputSchema: { json: { type: 'object' } } } },
        { toolSpec: { name: 'read_file', inputSchema: { json: { type: 'array' } as never } } },
        { toolSpec: { name: 'read_file', inputSchema: { json: { type: 'object', properties: { path: { type: 'strin' } } } as never } } },
        { toolSpec: { name: 'x'.repeat(65), inputSchema: { json: { type: 'object', required: 'path' } as never } } },
      ],
    };
    const v = converseRequestViolations(request);
    expect(v).toEqual(
      expect.arrayContaining([
        expect.stringContaining('tools[0]: tool name "1shell" must match'),
        expect.stringContaining('tools[1]: input schema must have "type": "object"'),
        expect.stringContaining('tools[2]: tool name read_file is declared twice'),
        expect.stringContaining('tools[2]: input schema is not a valid JSON Schema'),
        expect.stringContaining('tools[3]: tool name'),
        expect.stringContaining('tools[3]: input schema is not a valid JSON Schema'),
      ]),
    );
    const chat = toChatRequest(request, 'g');
    expect(chatRequestViolations(chat)).toContainEqual(expect.stringContaining('tools[2]: input schema is not a valid JSON Schema'));

    const noTools = valid();
    delete noTools.toolConfig;
    expect(converseRequestViolations(noTools)).toContainEqual('toolConfig: required when messages hold toolUse or toolResult blocks');
    const badUse = valid();
    badUse.messages![1]!.content![1] = { toolUse: { toolUseId: 'has space', name: 'read_file', input: 'not an object' as never } };
    expect(converseRequestViolations(badUse)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('toolUseId "has space" must match'),
        expect.stringContaining('toolUse input must be a JSON object'),
      ]),
    );
  });

  it('Given a missing output limit or chat arguments that are not a JSON object, When the request is checked, Then it is refused', () => {
    const request = valid();
    request.inferenceConfig = { maxTokens: 0 };
    expect(converseRequestViolations(request)).toContainEqual(
      expect.stringContaining('inferenceConfig.maxTokens: must be a positive integer'),
    );
    const chat = toChatRequest(valid(), 'g');
    const assistant = chat.messages[2] as { tool_calls: { function: { arguments: string } }[] };
    assistant.tool_calls[0]!.function.arguments = '[1]';
    expect(chatRequestViolations(chat)).toContainEqual(expect.stringContaining('arguments must be a JSON-encoded object'));
  });
});

describe('the conversation keeps its requests valid', () => {
  it('Given old tool output over the window, When the conversation builds its request, Then the output is trimmed to fit and every toolUse/toolResult pair is kept', () => {
    const c = conversation(10_000);
    c.addUser([{ text: 'task' }]);
    for (let i = 0; i < 12; i++) {
      c.addAssistant([{ toolUse: { toolUseId: `t${i}`, name: 'read_file', input: { path: `f${i}` } } }]);
      c.addUser([{ toolResult: { toolUseId: `t${i}`, content: [{ text: 'y'.repeat(4_000) }], status: 'success' } }]);
    }
    const request = c.buildRequest();
    expect(JSON.stringify(request)).toContain('cleared by the runner');
    expect(allViolations(request)).toEqual({ converse: [], messages: [], chat: [] });
  });

  it('Given a reply with blank text or an empty reply, When the conversation keeps it, Then the blank text is dropped and the empty reply kept as a note', () => {
    const c = conversation();
    c.addUser([{ text: 'task' }]);
    c.addAssistant([{ text: '\n' }, { toolUse: { toolUseId: 't1', name: 'list_files', input: {} } }]);
    c.addUser([{ toolResult: { toolUseId: 't1', content: [{ text: 'a' }] } }]);
    c.addAssistant([]);
    c.addUser([{ text: 'Continue.' }]);
    const request = c.buildRequest();
    expect(request.messages![1]!.content).toEqual([{ toolUse: { toolUseId: 't1', name: 'list_files', input: {} } }]);
    expect(c.messages[3]!.content).toEqual([{ text: EMPTY_REPLY_NOTE }]);
    expect(allViolations(request)).toEqual({ converse: [], messages: [], chat: [] });
  });
});

describe('the replay provider enforces the Converse rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Given a request that breaks the Converse rules, When the replay provider gets it, Then it is refused before a response is handed out', async () => {
    const file = join(dir, 'one.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1 } })}\n`,
    );
    const replay = new ReplayProvider(file);
    const bad = valid();
    bad.messages!.pop();
    await expect(replay.converse(bad, new AbortController().signal)).rejects.toThrow(InvalidModelRequestError);
    await expect(replay.converse(bad, new AbortController().signal)).rejects.toThrow(/toolUse t1, t2 is not answered/);
    // The response is still there for a valid request.
    expect((await replay.converse(valid(), new AbortController().signal)).stopReason).toBe('end_turn');
  });
});
