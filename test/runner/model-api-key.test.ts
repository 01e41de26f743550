import { LambdaClient } from '@aws-sdk/client-lambda';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../core/config/load';
import type { NightshiftConfig } from '../../core/config/schema';
import { localSecretsFileSource } from '../../lambdas/secret-sources';
import { brokerRequest, modelApiKeyFor, RunNotActiveError, type TokenBrokerDeps } from '../../lambdas/token-broker';
import { lambdaBrokerCaller } from '../../runner/token-broker-client';
import { Conversation } from '../../runner/model/conversation';
import { tokenBrokerModelApiKey } from '../../runner/model/model-api-key';
import { ModelChoiceError, selectModelProvider } from '../../runner/model/select-provider';
import { ReplayProvider } from '../../runner/model/replay-provider';
import { Redactor } from '../../runner/redaction';
import { toolSpecs } from '../../runner/tools/definitions';
import { startAwsLoopback, type AwsLoopback } from './support/aws-loopback';
import { startModelServer, type ModelServer } from './support/model-servers';
import { session, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';

const KEY = 'sk-ant-api03-broker-handed-key-7c1d';

function anthropicConfig(baseUrl?: string): NightshiftConfig {
  const base = testConfig(runnerFixture());
  return parseConfig({
    ...base,
    model: {
      ...base.model,
      provider: 'anthropic',
      id: 'claude-sonnet-4-5',
      apiKeySecret: 'nightshift/anthropic-api-key',
      ...(baseUrl ? { baseUrl } : {}),
    },
  });
}

describe('the model API key', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  describe('from the token broker', () => {
    const deps = (config: NightshiftConfig, extra: Partial<TokenBrokerDeps> = {}): TokenBrokerDeps => ({
      runs: h.db.store.runs,
      runKeys: h.db.store.runKeys,
      events: h.db.store.events,
      ledger: h.db.store.ledger,
      config,
      secrets: async (name) => (name === 'nightshift/anthropic-api-key' ? KEY : 'wrong'),
      ...extra,
    });

    it('Given a RUNNING run and an ended one, When the model API key is asked for, Then only the RUNNING run gets it, read from the configured secret', async () => {
      const running = await h.createRun({ status: 'RUNNING' });
      await expect(modelApiKeyFor(deps(anthropicConfig()), running.runId)).resolves.toEqual({ provider: 'anthropic', apiKey: KEY });
      const done = await h.createRun({ status: 'SUCCEEDED' });
      const secrets = jest.fn(async () => KEY);
      await expect(modelApiKeyFor(deps(anthropicConfig(), { secrets }), done.runId)).rejects.toBeInstanceOf(RunNotActiveError);
      expect(secrets).not.toHaveBeenCalled();
    });

    it('Given a provider that takes no key or a secret that cannot be read, When the key is asked for, Then it is refused, naming the secret (never a value)', async () => {
      const running = await h.createRun({ status: 'RUNNING' });
      await expect(modelApiKeyFor(deps(testConfig(runnerFixture())), running.runId)).rejects.toThrow(
        'the configured model provider (bedrock) takes no API key',
      );
      const file = join(h.root, 'secrets-empty.json');
      writeFileSync(file, '{}');
      await expect(modelApiKeyFor(deps(anthropicConfig(), { secrets: localSecretsFileSource(file) }), running.runId)).rejects.toThrow(
        `could not read the model API key secret nightshift/anthropic-api-key: secret nightshift/anthropic-api-key is not in ${file}`,
      );
    });

    it("Given local mode, When the key is asked for, Then the platform's ANTHROPIC_API_KEY is preferred, else secrets.json", async () => {
      const running = await h.createRun({ status: 'RUNNING' });
      const file = join(h.root, 'secrets-model.json');
      writeFileSync(file, JSON.stringify({ 'nightshift/anthropic-api-key': 'sk-from-the-secrets-file-0001' }));
      const local = (env: string | undefined) =>
        deps(anthropicConfig(), {
          secrets: localSecretsFileSource(file),
          modelKeyFromEnvironment: (p) => (p === 'anthropic' ? env : undefined),
        });
      await expect(modelApiKeyFor(local('sk-from-the-environment-0002'), running.runId)).resolves.toMatchObject({
        apiKey: 'sk-from-the-environment-0002',
      });
      await expect(modelApiKeyFor(local(undefined), running.runId)).resolves.toMatchObject({ apiKey: 'sk-from-the-secrets-file-0001' });
    });
  });

  describe('in the runner', () => {
    let broker: AwsLoopback;
    let server: ModelServer;
    let brokerConfig: NightshiftConfig;
    beforeAll(async () => {
      broker = await startAwsLoopback((_fn, payload) =>
        brokerRequest(
          {
            runs: h.db.store.runs,
            runKeys: h.db.store.runKeys,
            events: h.db.store.events,
            ledger: h.db.store.ledger,
            config: brokerConfig,
            secrets: async () => KEY,
          },
          payload,
        ),
      );
      server = await startModelServer(() => ({
        kind: 'json',
        body: {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'text', text: 'hello' }],
          stop_reason: 'end_turn',
          usage: { input_tokens: 10, output_tokens: 2 },
        },
      }));
    });
    afterAll(async () => {
      await broker.stop();
      await server.stop();
    });
    const lambda = () =>
      new LambdaClient({ region: 'us-east-1', endpoint: broker.url, credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } });
    const request = () => {
      const c = new Conversation({
        modelId: 'claude-sonnet-4-5',
        system: 's',
        tools: toolSpecs(),
        maxTokens: 100,
        contextWindowTokens: 200_000,
      });
      c.addUser([{ text: 'hi' }]);
      return c.buildRequest();
    };

    it('Given an Anthropic run, When it calls the model, Then the broker is asked once, at the first call, the key registered with the redactor and sent in the header only', async () => {
      brokerConfig = anthropicConfig(server.url);
      const run = await h.createRun({ status: 'RUNNING' });
      const runKey = await h.db.store.runKeys.issue(run.runId);
      const redactor = new Redactor();
      const provider = selectModelProvider({
        spec: undefined,
        model: brokerConfig.model,
        bedrock: () => {
          throw new Error('no Bedrock here');
        },
        apiKey: tokenBrokerModelApiKey(lambdaBrokerCaller(lambda(), 'token-broker', runKey), run.runId, (key) => redactor.add(key)),
      });
      expect(provider.kind).toBe('anthropic');
      expect(broker.invocations).toHaveLength(0);
      await provider.converse(request(), new AbortController().signal);
      await provider.converse(request(), new AbortController().signal);
      expect(broker.invocations).toEqual([{ functionName: 'token-broker', payload: { kind: 'modelApiKey', runId: run.runId, runKey } }]);
      expect(server.requests.map((r) => r.headers['x-api-key'])).toEqual([KEY, KEY]);
      expect(redactor.redact(`key=${KEY}`)).toBe('key=[REDACTED]');
    });

    it('Given a run no longer active (cancel requested), When it calls the model, Then the call fails with the broker refusal', async () => {
      brokerConfig = anthropicConfig(server.url);
      const run = await h.createRun({ status: 'RUNNING', cancelRequested: true });
      const runKey = await h.db.store.runKeys.issue(run.runId);
      const provider = selectModelProvider({
        spec: 'anthropic',
        model: brokerConfig.model,
        bedrock: () => undefined as never,
        apiKey: tokenBrokerModelApiKey(lambdaBrokerCaller(lambda(), 'token-broker', runKey), run.runId, () => undefined),
      });
      const before = server.requests.length;
      await expect(provider.converse(request(), new AbortController().signal)).rejects.toThrow(
        /the token broker refused: run .* is cancel-requested/,
      );
      expect(server.requests).toHaveLength(before);
    });
  });

  describe('choosing the provider', () => {
    const choose = (spec: string | undefined, config: NightshiftConfig) =>
      selectModelProvider({ spec, model: config.model, bedrock: () => undefined as never, apiKey: async () => KEY });

    it('Given model.provider and NIGHTSHIFT_MODEL, When the provider is chosen, Then it follows model.provider, takes replay:<file>, and refuses a provider the config does not describe', () => {
      expect(choose(undefined, anthropicConfig()).description).toBe('Anthropic API (claude-sonnet-4-5)');
      const base = testConfig(runnerFixture());
      const openai = parseConfig({
        ...base,
        model: { ...base.model, provider: 'openai', id: 'llama3.1:8b', baseUrl: 'http://127.0.0.1:11434/v1' },
      });
      expect(choose('openai', openai).description).toBe('OpenAI-compatible API (llama3.1:8b at 127.0.0.1:11434)');
      expect(choose(`replay:${session('fix-failing-test')}`, openai)).toBeInstanceOf(ReplayProvider);
      expect(() => choose('anthropic', openai)).toThrow(ModelChoiceError);
      expect(() => choose('anthropic', openai)).toThrow("NIGHTSHIFT_MODEL=anthropic but the config's model.provider is openai");
      expect(() => choose('gpt', openai)).toThrow(
        'NIGHTSHIFT_MODEL must be "bedrock", "anthropic", "openai" or "replay:<file>", got "gpt"',
      );
    });
  });
});
