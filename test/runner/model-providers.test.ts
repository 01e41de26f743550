import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AnthropicProvider } from '../../runner/model/anthropic-provider';
import type { MessagesRequest } from '../../runner/model/anthropic-wire';
import { BedrockProvider, isRetryableModelError } from '../../runner/model/bedrock-provider';
import { Conversation } from '../../runner/model/conversation';
import { InvalidModelRequestError, isUnbilledModelError, ModelCallError, ModelResponseError } from '../../runner/model/model-errors';
import { OpenAiProvider } from '../../runner/model/openai-provider';
import type { ChatRequest } from '../../runner/model/openai-wire';
import type { ConverseResponse } from '../../runner/model/converse-response';
import type { ModelRequest } from '../../runner/model/provider';
import { chatRequestViolations, converseRequestViolations, messagesRequestViolations } from '../../runner/model/request-rules';
import { toolSpecs } from '../../runner/tools/definitions';
import { startModelServer } from './support/model-servers';
import { freshEachTest } from '../support/fresh-each-test';
import { rejection } from '../support/rejection';

/** A request as the runner builds it: system prompt, the tools, one answered tool call, cache points. */
function runnerRequest(): ModelRequest {
  const c = new Conversation({
    modelId: 'configured-model',
    system: 'You are a careful engineer.',
    tools: toolSpecs(),
    maxTokens: 1024,
    contextWindowTokens: 200_000,
  });
  c.addUser([{ text: 'Fix the failing add test' }]);
  c.addAssistant([{ text: 'Let me look.' }, { toolUse: { toolUseId: 'tooluse_01', name: 'read_file', input: { path: 'src/add.js' } } }]);
  c.addUser([{ toolResult: { toolUseId: 'tooluse_01', content: [{ text: 'return a - b;' }], status: 'success' } }]);
  return c.buildRequest();
}

/** Every test here talks to a loopback model server of its own. */
const server = freshEachTest(startModelServer);

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 };
const never = new AbortController().signal;

function sleeps(): { calls: number[]; sleep: (ms: number) => Promise<void> } {
  const calls: number[] = [];
  return { calls, sleep: async (ms) => void calls.push(ms) };
}

async function failure(promise: Promise<unknown>): Promise<ModelCallError> {
  const err = await rejection(promise);
  if (!(err instanceof ModelCallError)) throw new Error(`expected a ModelCallError, got ${String(err)}`);
  return err;
}

/**
 * The answer the Anthropic and OpenAI-compatible servers here give (the sign is wrong, and the edit_file
 * call that fixes it) as the provider maps it back to Converse: the call's id and the usage as given.
 */
function signFixedAnswer(toolUseId: string, usage: ConverseResponse['usage']): ConverseResponse {
  return {
    output: {
      message: {
        role: 'assistant',
        content: [
          { text: 'The sign is wrong.' },
          { toolUse: { toolUseId, name: 'edit_file', input: { path: 'src/add.js', oldText: 'a - b', newText: 'a + b' } } },
        ],
      },
    },
    stopReason: 'tool_use',
    usage,
  };
}

const anthropicOk = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [
    { type: 'text', text: 'The sign is wrong.' },
    { type: 'tool_use', id: 'toolu_02', name: 'edit_file', input: { path: 'src/add.js', oldText: 'a - b', newText: 'a + b' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 120, output_tokens: 45, cache_read_input_tokens: 1800, cache_creation_input_tokens: 300 },
};

describe('Anthropic provider against a loopback Messages API', () => {
  const provider = (options: { key?: string; sleep?: (ms: number) => Promise<void> } = {}) => {
    let asked = 0;
    const p = new AnthropicProvider({
      baseUrl: `${server.url}/`,
      model: 'claude-sonnet-4-5',
      apiKey: async () => {
        asked++;
        return 'key' in options ? options.key : 'sk-ant-test-key-0123456789';
      },
      retry: fast,
      sleep: options.sleep ?? (async () => undefined),
    });
    return { p, asked: () => asked };
  };

  it('Given a Converse request, When the Anthropic provider sends it, Then it is translated with cache_control breakpoints and the answer mapped back to Converse', async () => {
    server.script({ kind: 'json', body: anthropicOk });
    const { p, asked } = provider();
    const response = await p.converse(runnerRequest(), never);
    await p.converse(runnerRequest(), never).catch(() => undefined);
    expect(asked()).toBe(1);

    const sent = server.requests[0]!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-ant-test-key-0123456789');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers['content-type']).toBe('application/json');
    const body = sent.body as MessagesRequest;
    expect(messagesRequestViolations(body)).toEqual([]);
    expect(body.model).toBe('claude-sonnet-4-5');
    expect(body.max_tokens).toBe(1024);
    expect(body.system).toEqual([{ type: 'text', text: 'You are a careful engineer.', cache_control: { type: 'ephemeral' } }]);
    expect(body.tools!.map((t) => t.name)).toEqual(toolSpecs().map((t) => t.toolSpec!.name));
    // No breakpoint on the tools: the one on the system prompt covers them (tools come first in the prefix).
    expect(body.tools!.every((t) => t.cache_control === undefined)).toBe(true);
    expect((body.tools![0]!.input_schema as { type: string }).type).toBe('object');
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(body.messages[1]!.content[1]).toEqual({
      type: 'tool_use',
      id: 'tooluse_01',
      name: 'read_file',
      input: { path: 'src/add.js' },
      cache_control: { type: 'ephemeral' },
    });
    expect(body.messages[2]!.content[0]).toEqual({
      type: 'tool_result',
      tool_use_id: 'tooluse_01',
      content: [{ type: 'text', text: 'return a - b;' }],
      cache_control: { type: 'ephemeral' },
    });
    expect(JSON.stringify(body)).not.toContain('sk-ant-test');

    const usage = { inputTokens: 120, outputTokens: 45, totalTokens: 2265, cacheReadInputTokens: 1800, cacheWriteInputTokens: 300 };
    expect(response).toEqual(signFixedAnswer('toolu_02', usage));
  });

  it.each([
    ['end_turn', 'end_turn'],
    ['max_tokens', 'max_tokens'],
    ['stop_sequence', 'stop_sequence'],
    ['refusal', 'content_filtered'],
    ['model_context_window_exceeded', 'model_context_window_exceeded'],
  ])('Given the stop_reason %s, When the answer is mapped, Then it is %s', async (wire, converse) => {
    server.script({ kind: 'json', body: { ...anthropicOk, content: [{ type: 'text', text: 'done' }], stop_reason: wire } });
    expect((await provider().p.converse(runnerRequest(), never)).stopReason).toBe(converse);
  });

  it('Given a validation error from the API, When the provider gets it, Then it is refused at once, naming what the API said', async () => {
    server.script({
      kind: 'json',
      status: 400,
      body: { type: 'error', error: { type: 'invalid_request_error', message: 'messages.1: tool_use ids must be unique' } },
    });
    const err = await failure(provider().p.converse(runnerRequest(), never));
    expect(err.failure).toBe('rejected');
    expect(err.status).toBe(400);
    expect(err.message).toContain('invalid_request_error');
    expect(err.message).toContain('tool_use ids must be unique');
    expect(server.requests).toHaveLength(1);
  });

  it('Given a prompt that does not fit the window and a bad key, When the API refuses them, Then each is told apart from other refusals', async () => {
    server.script(
      {
        kind: 'json',
        status: 400,
        body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } },
      },
      { kind: 'json', status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } },
    );
    expect((await failure(provider().p.converse(runnerRequest(), never))).failure).toBe('context_window');
    expect((await failure(provider().p.converse(runnerRequest(), never))).failure).toBe('unauthorized');
    expect(server.requests).toHaveLength(2);
  });

  it('Given a 429 with Retry-After and a 529 overloaded (refused before the model ran), When the provider gets them, Then it retries, then answers', async () => {
    server.script(
      {
        kind: 'json',
        status: 429,
        headers: { 'retry-after': '2' },
        body: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } },
      },
      { kind: 'json', status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
      { kind: 'json', body: anthropicOk },
    );
    const s = sleeps();
    const response = await provider({ sleep: s.sleep }).p.converse(runnerRequest(), never);
    expect(response.stopReason).toBe('tool_use');
    expect(server.requests).toHaveLength(3);
    expect(s.calls[0]).toBe(2_000);
    expect(s.calls).toHaveLength(2);
  });

  it('Given a 500 or a connection cut once the request was sent, When the provider gets it, Then it is left to the run (it may have been billed); a refused connection is retried', async () => {
    server.script(
      { kind: 'json', status: 500, body: { type: 'error', error: { type: 'api_error', message: 'internal' } } },
      { kind: 'reset-after-start', partial: '{"id":"msg_1","type":"mess' },
      { kind: 'reset-before' },
    );
    for (const expected of ['unavailable', 'network', 'network'] as const) {
      const err = await failure(provider().p.converse(runnerRequest(), never));
      expect({
        failure: err.failure,
        possiblyBilled: err.possiblyBilled,
        unbilled: isUnbilledModelError(err),
        retryable: isRetryableModelError(err),
      }).toEqual({ failure: expected, possiblyBilled: true, unbilled: false, retryable: true });
    }
    expect(server.requests).toHaveLength(3);

    // Nothing listens: the request never left, so the provider retries it itself, then gives up.
    const closed = await startModelServer();
    await closed.stop();
    const s = sleeps();
    const nowhere = new AnthropicProvider({ baseUrl: closed.url, model: 'm', apiKey: async () => undefined, retry: fast, sleep: s.sleep });
    const err = await failure(nowhere.converse(runnerRequest(), never));
    expect(err.failure).toBe('network');
    expect(err.possiblyBilled).toBe(false);
    expect(err.message).toContain('ECONNREFUSED');
    expect(s.calls).toHaveLength(fast.attempts - 1);
  });

  it('Given no key configured, When the provider calls, Then no key header is sent; an answer it cannot use is refused', async () => {
    server.script(
      { kind: 'json', body: { ...anthropicOk, stop_reason: null } },
      { kind: 'json', body: { ...anthropicOk, content: [{ type: 'server_tool_use', id: 'x' }] } },
    );
    const { p } = provider({ key: undefined });
    await expect(p.converse(runnerRequest(), never)).rejects.toThrow(ModelResponseError);
    await expect(p.converse(runnerRequest(), never)).rejects.toThrow(/unsupported block type "server_tool_use"/);
    expect(server.requests[0]!.headers['x-api-key']).toBeUndefined();
  });

  it('Given a request that breaks the rules, When the provider is asked to send it, Then it is refused and never sent', async () => {
    const bad = runnerRequest();
    bad.messages!.push({ role: 'user', content: [{ text: 'again' }] });
    await expect(provider().p.converse(bad, never)).rejects.toThrow(InvalidModelRequestError);
    expect(server.requests).toHaveLength(0);
  });
});

const chatOk = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'qwen2.5-coder:32b',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'The sign is wrong.',
        tool_calls: [
          {
            id: 'call_abc',
            type: 'function',
            function: { name: 'edit_file', arguments: '{"path":"src/add.js","oldText":"a - b","newText":"a + b"}' },
          },
        ],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 2_000, completion_tokens: 50, total_tokens: 2_050, prompt_tokens_details: { cached_tokens: 1_536 } },
};

describe('OpenAI-compatible provider against a loopback chat completions server', () => {
  const provider = (options: { key?: string; sleep?: (ms: number) => Promise<void>; maxTokensParameter?: 'max_completion_tokens' } = {}) =>
    new OpenAiProvider({
      baseUrl: `${server.url}/v1`,
      model: 'qwen2.5-coder:32b',
      apiKey: async () => ('key' in options ? options.key : 'sk-test-openai-key-0123'),
      retry: fast,
      sleep: options.sleep ?? (async () => undefined),
      ...(options.maxTokensParameter ? { maxTokensParameter: options.maxTokensParameter } : {}),
    });

  it('Given a tool result, When the OpenAI-compatible provider sends it, Then it goes as a tool message after the assistant call and usage is mapped without double-counting the cache', async () => {
    server.script({ kind: 'json', body: chatOk });
    const response = await provider().converse(runnerRequest(), never);
    const sent = server.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer sk-test-openai-key-0123');
    const body = sent.body as ChatRequest;
    expect(chatRequestViolations(body)).toEqual([]);
    expect(body.model).toBe('qwen2.5-coder:32b');
    expect(body.max_tokens).toBe(1024);
    expect(body.stream).toBe(false);
    expect(body.tool_choice).toBe('auto');
    expect(body.tools!.map((t) => t.function.name)).toEqual(toolSpecs().map((t) => t.toolSpec!.name));
    expect(body.messages).toEqual([
      { role: 'system', content: 'You are a careful engineer.' },
      { role: 'user', content: 'Fix the failing add test' },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [{ id: 'tooluse_01', type: 'function', function: { name: 'read_file', arguments: '{"path":"src/add.js"}' } }],
      },
      { role: 'tool', tool_call_id: 'tooluse_01', content: 'return a - b;' },
    ]);
    expect(JSON.stringify(body)).not.toContain('cache');
    const usage = { inputTokens: 464, outputTokens: 50, totalTokens: 2_050, cacheReadInputTokens: 1_536, cacheWriteInputTokens: 0 };
    expect(response).toEqual(signFixedAnswer('call_abc', usage));
  });

  it('Given max_completion_tokens configured and no key (Ollama, vLLM), When the provider calls, Then it uses that field and sends no Authorization', async () => {
    server.script({ kind: 'json', body: chatOk });
    await provider({ key: undefined, maxTokensParameter: 'max_completion_tokens' }).converse(runnerRequest(), never);
    const body = server.requests[0]!.body as ChatRequest;
    expect(body.max_completion_tokens).toBe(1024);
    expect(body.max_tokens).toBeUndefined();
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('Given what small servers send ("stop" with tool calls, no or odd ids, arguments that are not JSON), When the answer is mapped, Then it is accepted', async () => {
    server.script({
      kind: 'json',
      body: {
        ...chatOk,
        choices: [
          {
            message: {
              content: '',
              tool_calls: [
                { function: { name: 'shell', arguments: '{"command": "npm test"}' } },
                { id: 'has spaces', function: { name: 'read_file', arguments: '{"path": "a.js"' } },
                { id: 'call_2', function: { name: 'list_files', arguments: { path: 'src' } } },
              ],
            },
            finish_reason: 'stop',
          },
        ],
      },
    });
    const response = await provider().converse(runnerRequest(), never);
    expect(response.stopReason).toBe('tool_use');
    const uses = response.output.message.content.map((b) => b.toolUse!);
    expect(uses.map((u) => u.input)).toEqual([{ command: 'npm test' }, { invalid_arguments: '{"path": "a.js"' }, { path: 'src' }]);
    expect(uses[0]!.toolUseId).toMatch(/^call_[0-9a-f]{24}$/);
    expect(uses[1]!.toolUseId).toMatch(/^call_[0-9a-f]{24}$/);
    expect(uses[2]!.toolUseId).toBe('call_2');
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['content_filter', 'content_filtered'],
  ])('Given the finish_reason %s, When the answer is mapped, Then it is %s', async (finish, stop) => {
    server.script({ kind: 'json', body: { ...chatOk, choices: [{ message: { content: 'ok' }, finish_reason: finish }] } });
    expect((await provider().converse(runnerRequest(), never)).stopReason).toBe(stop);
  });

  it("Given OpenAI's and vLLM's error bodies, When the provider gets them, Then context length, bad request, bad key and not found are told apart", async () => {
    server.script(
      {
        kind: 'json',
        status: 400,
        body: {
          error: {
            message: "This model's maximum context length is 8192 tokens.",
            type: 'invalid_request_error',
            code: 'context_length_exceeded',
          },
        },
      },
      {
        kind: 'json',
        status: 400,
        body: { object: 'error', message: '"auto" tool choice requires --enable-auto-tool-choice', type: 'BadRequestError', code: 400 },
      },
      {
        kind: 'json',
        status: 401,
        body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } },
      },
      { kind: 'json', status: 404, body: { error: { message: 'model "qwen" not found, try pulling it first' } } },
    );
    expect((await failure(provider().converse(runnerRequest(), never))).failure).toBe('context_window');
    const vllm = await failure(provider().converse(runnerRequest(), never));
    expect(vllm.failure).toBe('rejected');
    expect(vllm.message).toContain('--enable-auto-tool-choice');
    expect((await failure(provider().converse(runnerRequest(), never))).failure).toBe('unauthorized');
    expect((await failure(provider().converse(runnerRequest(), never))).failure).toBe('not_found');
    expect(server.requests).toHaveLength(4);
  });

  it('Given a 429, a 503 and a connection cut after the response started, When the provider gets them, Then it retries the 429 itself and leaves the others to the run as possibly billed', async () => {
    server.script(
      { kind: 'json', status: 429, body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } },
      { kind: 'json', body: chatOk },
      { kind: 'json', status: 503, body: { error: { message: 'upstream unavailable' } } },
      { kind: 'reset-after-start', partial: '{"choices": [' },
    );
    const s = sleeps();
    expect((await provider({ sleep: s.sleep }).converse(runnerRequest(), never)).stopReason).toBe('tool_use');
    expect(server.requests).toHaveLength(2);
    expect(s.calls).toHaveLength(1);
    const unavailable = await failure(provider().converse(runnerRequest(), never));
    expect([unavailable.failure, unavailable.status, unavailable.possiblyBilled]).toEqual(['unavailable', 503, true]);
    const cut = await failure(provider().converse(runnerRequest(), never));
    expect([cut.failure, cut.possiblyBilled, isUnbilledModelError(cut), isRetryableModelError(cut)]).toEqual([
      'network',
      true,
      false,
      true,
    ]);
    expect(server.requests).toHaveLength(4);
  });

  it('Given an answer without usage, When the provider gets it, Then it is refused: the budget could not be charged', async () => {
    const { usage: _dropped, ...noUsage } = chatOk;
    server.script({ kind: 'json', body: noUsage });
    await expect(provider().converse(runnerRequest(), never)).rejects.toThrow(
      /OpenAI-compatible API returned a response the runner cannot use.*usage/s,
    );
  });
});

describe('Bedrock provider: the real AWS SDK client against a loopback Converse endpoint', () => {
  /** The real SDK client on the loopback server, over HTTP/1.1 as on AWS where the runner's clients go through the egress proxy (runnerAwsClients). */
  const loopbackBedrock = () =>
    new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: server.url,
      credentials: { accessKeyId: 'AKIDLOOPBACK', secretAccessKey: 'loopback-secret' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
  const provider = (sleep: (ms: number) => Promise<void> = async () => undefined) =>
    new BedrockProvider(loopbackBedrock(), 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', fast, sleep);
  const converseOk = {
    output: {
      message: {
        role: 'assistant',
        content: [
          { text: 'Fixing.' },
          { toolUse: { toolUseId: 'tooluse_02', name: 'edit_file', input: { path: 'src/add.js', oldText: 'a - b', newText: 'a + b' } } },
        ],
      },
    },
    stopReason: 'tool_use',
    usage: { inputTokens: 100, outputTokens: 20, totalTokens: 2_120, cacheReadInputTokens: 1_800, cacheWriteInputTokens: 200 },
    metrics: { latencyMs: 15 },
  };

  it('Given a Converse request, When the real SDK client sends it, Then it is signed with cache points kept and the answer parsed', async () => {
    server.script({ kind: 'json', body: converseOk });
    const request = runnerRequest();
    const response = await provider().converse({ ...request, modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }, never);
    const sent = server.requests[0]!;
    expect(sent.method).toBe('POST');
    expect(decodeURIComponent(sent.path)).toBe('/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse');
    expect(String(sent.headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDLOOPBACK\/\d{8}\/us-east-1\/bedrock\/aws4_request/,
    );
    const body = sent.body as Omit<ModelRequest, 'modelId'>;
    expect(converseRequestViolations({ ...body, modelId: 'from-the-path' })).toEqual([]);
    expect(body.system).toEqual([{ text: 'You are a careful engineer.' }, { cachePoint: { type: 'default' } }]);
    expect(body.messages![2]!.content).toEqual([
      { toolResult: { toolUseId: 'tooluse_01', content: [{ text: 'return a - b;' }], status: 'success' } },
      { cachePoint: { type: 'default' } },
    ]);
    expect(response.stopReason).toBe('tool_use');
    expect(response.usage).toEqual({
      inputTokens: 100,
      outputTokens: 20,
      totalTokens: 2_120,
      cacheReadInputTokens: 1_800,
      cacheWriteInputTokens: 200,
    });
    expect(response.output.message.content[1]!.toolUse).toEqual({
      toolUseId: 'tooluse_02',
      name: 'edit_file',
      input: { path: 'src/add.js', oldText: 'a - b', newText: 'a + b' },
    });
  });

  it('Given ThrottlingException and ModelNotReadyException, When Bedrock answers them, Then they are retried with backoff; a ValidationException is not retried', async () => {
    server.script(
      {
        kind: 'json',
        status: 429,
        headers: { 'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/' },
        body: { message: 'Too many requests' },
      },
      { kind: 'json', status: 429, headers: { 'x-amzn-errortype': 'ModelNotReadyException' }, body: { message: 'warming up' } },
      { kind: 'json', body: converseOk },
    );
    const s = sleeps();
    const slow = new BedrockProvider(loopbackBedrock(), 'm', { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 }, s.sleep);
    expect((await slow.converse(runnerRequest(), never)).stopReason).toBe('tool_use');
    expect(server.requests).toHaveLength(3);
    expect(s.calls).toHaveLength(2);
    expect(s.calls[0]).toBeGreaterThanOrEqual(50);
    expect(s.calls[1]).toBeGreaterThanOrEqual(100);

    server.script({
      kind: 'json',
      status: 400,
      headers: { 'x-amzn-errortype': 'ValidationException' },
      body: { message: 'The model returned the following errors: messages: roles must alternate' },
    });
    const err = await rejection(provider().converse(runnerRequest(), never));
    expect((err as Error).name).toBe('ValidationException');
    expect((err as Error).message).toContain('roles must alternate');
    expect(server.requests).toHaveLength(4);
  });

  it('Given a 503 or a connection cut after the response started, When Bedrock answers it, Then it is not retried: it may have been billed, the run settles and retries it', async () => {
    server.script(
      { kind: 'json', status: 503, headers: { 'x-amzn-errortype': 'ServiceUnavailableException' }, body: { message: 'unavailable' } },
      { kind: 'reset-after-start', partial: '{"output": {"mess' },
    );
    for (const name of ['ServiceUnavailableException', 'Error']) {
      const err = (await rejection(provider().converse(runnerRequest(), never))) as Error;
      expect({ name: err.name, unbilled: isUnbilledModelError(err), retryable: isRetryableModelError(err) }).toEqual({
        name,
        unbilled: false,
        retryable: true,
      });
    }
    expect(server.requests).toHaveLength(2);
  });

  it('Given throttling on every attempt or a request that breaks the Converse rules, When Bedrock is called, Then it gives up after the last attempt and never sends the bad request', async () => {
    server.script(
      ...Array.from({ length: 4 }, () => ({
        kind: 'json' as const,
        status: 429,
        headers: { 'x-amzn-errortype': 'ThrottlingException' },
        body: { message: 'slow down' },
      })),
    );
    await expect(provider().converse(runnerRequest(), never)).rejects.toThrow('slow down');
    expect(server.requests).toHaveLength(4);
    await expect(provider().converse({ modelId: 'm', messages: [], inferenceConfig: { maxTokens: 10 } }, never)).rejects.toThrow(
      InvalidModelRequestError,
    );
    expect(server.requests).toHaveLength(4);
  });
});
