import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileAt, listPulls } from '../../local/forge';
import { AnthropicProvider } from '../../runner/model/anthropic-provider';
import type { MessagesRequest } from '../../runner/model/anthropic-wire';
import { BedrockProvider } from '../../runner/model/bedrock-provider';
import type { ConverseResponse } from '../../runner/model/converse-response';
import { OpenAiProvider } from '../../runner/model/openai-provider';
import type { ChatRequest } from '../../runner/model/openai-wire';
import type { ModelProvider, ModelRequest } from '../../runner/model/provider';
import { RecordingProvider } from '../../runner/model/recording-provider';
import { recordedOutputsFile, ReplayProvider } from '../../runner/model/replay-provider';
import { chatRequestViolations, converseRequestViolations, messagesRequestViolations } from '../../runner/model/request-rules';
import { Redactor } from '../../runner/redaction';
import {
  chatResponseOf,
  converseBodyOf,
  messagesResponseOf,
  sessionResponses,
  startModelServer,
  type ModelServer,
  type ServerStep,
} from './support/model-servers';
import { session, startInProcessRun, startRunnerHarness, transcriptMicros, type RunnerHarness } from './support/runner-harness';

/**
 * Whole runs of the sample repository through each live provider's client code, against a loopback
 * server of its wire protocol that answers the recorded fix-failing-test session (with a throttle and
 * a cut connection on the way), recorded by `RecordingProvider`, and the recording replayed again.
 */
const fixture = session('fix-failing-test');
const API_KEY = 'sk-live-provider-key-5f9c2e7a1b';
/** A token-shaped string the model "prints": it must not reach the recording. */
const LEAKED = `ghp_${'A1b2C3d4E5'.repeat(4)}`;

function scripted(encode: (r: ConverseResponse, i: number) => unknown): { steps: ServerStep[]; fallback: () => ServerStep } {
  const responses = sessionResponses(fixture);
  const first = responses[0]!;
  responses[0] = {
    ...first,
    output: {
      message: {
        ...first.output.message,
        content: [{ text: `The add test fails; the log shows ${LEAKED}.` }, ...first.output.message.content.slice(1)],
      },
    },
  };
  let served = 0;
  return {
    // One throttled call (retried by the provider: unbilled) and one cut after the status line (may
    // have been billed: settled at its worst case and retried by the run under a new reservation).
    steps: [
      // (Bedrock names it in x-amzn-errortype; the others ignore the header.)
      {
        kind: 'json',
        status: 429,
        headers: { 'retry-after': '0', 'x-amzn-errortype': 'ThrottlingException' },
        body: { error: { type: 'rate_limit_error', message: 'slow down' } },
      },
      { kind: 'reset-after-start', partial: '{"id": "x' },
    ],
    fallback: () => {
      const r = responses[served];
      served++;
      return r
        ? { kind: 'json', body: encode(r, served) }
        : { kind: 'json', status: 400, body: { error: { message: 'the session has no more turns' } } };
    },
  };
}

describe('live providers drive a whole run, and a recording of it replays', () => {
  let h: RunnerHarness;
  let server: ModelServer | undefined;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(async () => {
    await h.stop();
  });

  const retry = { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 }, sleep: async () => undefined };

  const cases: {
    name: string;
    encode: (r: ConverseResponse, i: number) => unknown;
    provider: (url: string) => ModelProvider;
    check: (requests: unknown[]) => void;
  }[] = [
    {
      name: 'anthropic',
      encode: (r, i) => messagesResponseOf(r, `msg_${i}`),
      provider: (url) => new AnthropicProvider({ baseUrl: url, model: 'claude-sonnet-4-5', apiKey: async () => API_KEY, ...retry }),
      check: (requests) => {
        for (const body of requests as MessagesRequest[]) expect(messagesRequestViolations(body)).toEqual([]);
        const last = (requests as MessagesRequest[]).at(-1)!;
        expect(last.messages.flatMap((m) => m.content).filter((b) => b.type === 'tool_result')).toHaveLength(3);
      },
    },
    {
      name: 'openai',
      encode: (r, i) => chatResponseOf(r, `chatcmpl-${i}`),
      provider: (url) => new OpenAiProvider({ baseUrl: `${url}/v1`, model: 'qwen2.5-coder:32b', apiKey: async () => API_KEY, ...retry }),
      check: (requests) => {
        for (const body of requests as ChatRequest[]) expect(chatRequestViolations(body)).toEqual([]);
        const last = (requests as ChatRequest[]).at(-1)!;
        expect(last.messages.filter((m) => m.role === 'tool').map((m) => (m as { tool_call_id: string }).tool_call_id)).toEqual([
          'tooluse_01',
          'tooluse_02',
          'tooluse_03',
        ]);
      },
    },
    {
      name: 'bedrock',
      encode: (r) => converseBodyOf(r),
      provider: (url) =>
        new BedrockProvider(
          new BedrockRuntimeClient({
            region: 'us-east-1',
            endpoint: url,
            credentials: { accessKeyId: 'AKIDLOOPBACK', secretAccessKey: API_KEY },
            maxAttempts: 1,
            requestHandler: new NodeHttpHandler(),
          }),
          'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          retry.retry,
          retry.sleep,
        ),
      check: (requests) => {
        for (const body of requests as ModelRequest[]) expect(converseRequestViolations({ ...body, modelId: 'path' })).toEqual([]);
      },
    },
  ];

  it.each(cases)(
    'Given the live $name provider, When a run is recorded through it, Then it opens the PR at the transcript cost, and the recording is redacted and replays to the same change',
    async ({ encode, provider, check }) => {
      const { steps, fallback } = scripted(encode);
      server = await startModelServer(fallback);
      server.script(...steps);
      const recordFile = join(h.root, `recorded-${Date.now()}-${Math.random().toString(16).slice(2)}.jsonl`);
      const redactor = new Redactor();
      redactor.add(API_KEY);
      const recorder = new RecordingProvider(provider(server.url), recordFile, (v) => redactor.redactValue(v));

      // When a run is served by the live provider through the recorder
      const run = await h.createRun({ prompt: 'Fix the failing add test' });
      const { end, callbacks } = await startInProcessRun(h, run.runId, fixture, { secrets: [API_KEY], deps: { model: recorder } }).done;
      recorder.close();

      // Then it succeeds like the replayed session, at the same cost (usage mapped with cache reads and
      // writes apart) plus the worst case of the call that was cut
      expect(callbacks.failures).toEqual([]);
      expect(end.kind).toBe('succeeded');
      const result = callbacks.successes[0]!;
      expect(result.outcome).toBe('pr_opened');
      expect(fileAt(h.bare, result.branch!, 'src/add.js')).toContain('return a + b;');
      const stored = (await h.db.store.runs.get(run.runId))!;
      const expected = transcriptMicros(fixture);
      expect(stored.tokens).toEqual(expected.usage);
      const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
      const settled = events.filter((e) => e.type === 'note' && /may have been billed/.test(e.message));
      expect(settled).toHaveLength(1);
      const worst = (settled[0]!.detail as { worstMicros: number }).worstMicros;
      expect(worst).toBeGreaterThan(0);
      expect(stored.spentMicros).toBe(expected.micros + worst);
      const pr = listPulls(h.forgeRoot, 'demo/sample-app').find((p) => p.head === result.branch)!;
      expect(pr.body).not.toContain('Replayed session');

      // every request the server saw follows its API's rules; the 429 and the cut connection were retried
      const bodies = server.requests.map((r) => r.body);
      expect(bodies).toHaveLength(4 + 2);
      check(bodies.slice(2));
      expect(JSON.stringify(server.requests.map((r) => r.body))).not.toContain(API_KEY);

      // the recording: one Converse response per line, mode 600, the leaked token redacted
      const recorded = readFileSync(recordFile, 'utf8');
      expect(recorded.trimEnd().split('\n')).toHaveLength(4);
      expect(statSync(recordFile).mode & 0o777).toBe(0o600);
      expect(recorded).not.toContain(LEAKED);
      expect(recorded).not.toContain(API_KEY);
      expect(recorded).toContain('[REDACTED]');
      // beside it, every tool output the model saw, redacted too (a replay compares the run's outputs with them)
      const outputsFile = recordedOutputsFile(recordFile);
      expect(statSync(outputsFile).mode & 0o777).toBe(0o600);
      const outputs = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, string>;
      expect(Object.keys(outputs)).toHaveLength(3);
      expect(Object.values(outputs).join('\n')).toContain('return a + b;');
      expect(JSON.stringify(outputs)).not.toContain(API_KEY);

      // When the recording is replayed as a regression test
      const replay = new ReplayProvider(recordFile);
      const again = await h.createRun({ prompt: 'Fix the failing add test' });
      const second = await startInProcessRun(h, again.runId, recordFile, { deps: { model: replay } }).done;

      // Then it makes the same change, and its requests pass the Converse rules (the replay checks them)
      expect(second.callbacks.failures).toEqual([]);
      expect(second.callbacks.successes[0]!.outcome).toBe('pr_opened');
      expect(fileAt(h.bare, second.callbacks.successes[0]!.branch!, 'src/add.js')).toContain('return a + b;');
      expect(replay.requests).toHaveLength(4);
      expect((await h.db.store.runs.get(again.runId))!.spentMicros).toBe(expected.micros);
    },
  );

  it('Given a recording file that exists, When a task records, Then it never overwrites it: a second task of the same run records beside it', () => {
    const file = join(h.root, 'exists.jsonl');
    writeFileSync(file, 'keep\n');
    expect(() => new RecordingProvider(new ReplayProvider(fixture), file, (v) => v)).toThrow(/EEXIST/);
    expect(readFileSync(file, 'utf8')).toBe('keep\n');
    const second = RecordingProvider.inDirectory(new ReplayProvider(fixture), h.root, 'exists', (v) => v);
    expect(second.file).toBe(join(h.root, 'exists-2.jsonl'));
    second.close();
    expect(readFileSync(file, 'utf8')).toBe('keep\n');
  });
});
