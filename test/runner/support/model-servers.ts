import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ConverseResponse } from '../../../runner/model/converse-response';

/**
 * Loopback HTTP servers that speak the model providers' wire protocols, for the providers' real client
 * code: Anthropic's Messages API (POST /v1/messages), OpenAI-compatible chat completions
 * (POST /v1/chat/completions) and Bedrock's Converse (POST /model/{modelId}/converse, what the AWS SDK
 * sends to its `endpoint`). Each answers from a script of steps, then from a fallback; it records every
 * request (path, headers, parsed body).
 */
export type ServerStep =
  | { kind: 'json'; status?: number; body: unknown; headers?: Record<string, string> }
  /** The connection is destroyed before any response. */
  | { kind: 'reset-before' }
  /** A 200 status line and part of the body, then the connection is destroyed. */
  | { kind: 'reset-after-start'; partial: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface ModelServer {
  url: string;
  requests: RecordedRequest[];
  /** Steps answered before the fallback, in order. */
  script(...steps: ServerStep[]): void;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startModelServer(
  fallback: (request: RecordedRequest, index: number) => ServerStep = () => ({ kind: 'json', status: 500, body: { message: 'no script' } }),
): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  const steps: ServerStep[] = [];
  const sockets = new Set<Socket>();
  const answer = (res: ServerResponse, step: ServerStep) => {
    if (step.kind === 'reset-before') {
      res.socket?.destroy();
      return;
    }
    if (step.kind === 'reset-after-start') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(step.partial.length + 1_000) });
      res.write(step.partial, () => res.socket?.destroy());
      return;
    }
    const text = JSON.stringify(step.body);
    res.writeHead(step.status ?? 200, { 'content-type': 'application/json', ...step.headers });
    res.end(text);
  };
  const server = createServer((req, res) => {
    void readBody(req).then((text) => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(recorded);
      answer(res, steps.shift() ?? fallback(recorded, requests.length - 1));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...more) => steps.push(...more),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The recorded Converse responses of a session file. */
export function sessionResponses(file: string): ConverseResponse[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ConverseResponse);
}

const messagesStop: Record<ConverseResponse['stopReason'], string> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  content_filtered: 'refusal',
  guardrail_intervened: 'refusal',
  model_context_window_exceeded: 'model_context_window_exceeded',
};

/** What the Messages API answers for the turn a Converse response describes. */
export function messagesResponseOf(response: ConverseResponse, id = 'msg_01'): unknown {
  const u = response.usage;
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: 'claude-test',
    content: response.output.message.content.map((b) =>
      b.toolUse
        ? { type: 'tool_use', id: b.toolUse.toolUseId, name: b.toolUse.name, input: b.toolUse.input }
        : { type: 'text', text: b.text ?? '' },
    ),
    stop_reason: messagesStop[response.stopReason],
    stop_sequence: null,
    usage: {
      input_tokens: u.inputTokens,
      output_tokens: u.outputTokens,
      cache_read_input_tokens: u.cacheReadInputTokens ?? 0,
      cache_creation_input_tokens: u.cacheWriteInputTokens ?? 0,
    },
  };
}

/**
 * What an OpenAI-compatible server answers for that turn. prompt_tokens counts cached tokens as
 * OpenAI does; cache writes are reported the way LiteLLM reports Anthropic's.
 */
export function chatResponseOf(response: ConverseResponse, id = 'chatcmpl-01'): unknown {
  const u = response.usage;
  const text = response.output.message.content.map((b) => b.text ?? '').join('');
  const calls = response.output.message.content
    .filter((b) => b.toolUse)
    .map((b) => ({
      id: b.toolUse!.toolUseId,
      type: 'function',
      function: { name: b.toolUse!.name, arguments: JSON.stringify(b.toolUse!.input) },
    }));
  const finish = response.stopReason === 'max_tokens' ? 'length' : calls.length > 0 ? 'tool_calls' : 'stop';
  return {
    id,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'test-model',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text === '' ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}) },
        finish_reason: finish,
      },
    ],
    usage: {
      prompt_tokens: u.inputTokens + (u.cacheReadInputTokens ?? 0) + (u.cacheWriteInputTokens ?? 0),
      completion_tokens: u.outputTokens,
      total_tokens: u.inputTokens + (u.cacheReadInputTokens ?? 0) + (u.cacheWriteInputTokens ?? 0) + u.outputTokens,
      prompt_tokens_details: { cached_tokens: u.cacheReadInputTokens ?? 0 },
      cache_creation_input_tokens: u.cacheWriteInputTokens ?? 0,
    },
  };
}

/** Bedrock's Converse answer body (the SDK reads the same JSON, plus metrics). */
export function converseBodyOf(response: ConverseResponse): unknown {
  return { ...response, metrics: { latencyMs: 12 } };
}
