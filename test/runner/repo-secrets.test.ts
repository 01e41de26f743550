import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../core/config/load';
import { fileAt, listPulls } from '../../local/forge';
import type { NightshiftConfig } from '../../core/config/schema';
import { localSecretsFileSource, secretsManagerSource, type SecretSource } from '../../lambdas/secret-sources';
import { brokerRequest } from '../../lambdas/token-broker';
import { tokenBrokerSecretSource } from '../../runner/secrets/repo-secrets';
import { lambdaBrokerCaller } from '../../runner/token-broker-client';
import { startAwsLoopback, type AwsLoopback } from './support/aws-loopback';
import { session, startInProcessRun, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';

/**
 * Named secrets come from the token broker (a real Lambda Invoke on loopback, the broker's code
 * behind it, Secrets Manager mocked) and reach the repo's setup and test commands, never the agent's tools, and are never
 * written down. The test command proves it saw the secret by its length; once the agent has worked
 * (NOTES.md exists) it also captures the value into a file, which must not be committed.
 */
const SECRET_NAME = 'nightshift/sample-app/deploy-key';
const testCommand = [
  'node test.js; status=$?',
  'echo "deploy key offered: $(printf %s "${DEPLOY_KEY:-}" | wc -c) chars"',
  'if [ -f NOTES.md ]; then printf %s "$DEPLOY_KEY" > captured.txt; fi',
  'exit $status',
].join('; ');

const OTHER_SECRET_NAME = 'nightshift/other-app/deploy-key';

/** The sample repo with its secret, and a second repo whose secret a run of the first must never get. */
function configWithSecret(options: { secretsInHeadTests?: boolean } = {}) {
  const base = testConfig(runnerFixture());
  return parseConfig({
    ...base,
    repos: [
      {
        ...base.repos[0]!,
        test: testCommand,
        setup: ['test -n "$DEPLOY_KEY" && echo "setup has the key"'],
        secrets: { DEPLOY_KEY: SECRET_NAME },
        ...options,
      },
      { name: 'demo/other-app', secrets: { OTHER_KEY: OTHER_SECRET_NAME } },
    ],
  });
}

describe('repo secrets', () => {
  let h: RunnerHarness;
  const sm = mockClient(SecretsManagerClient);
  const secret = `CANARY-deploy-${randomBytes(12).toString('hex')}`;

  let broker: AwsLoopback;
  /** What the broker Lambda behind the loopback uses for this test. */
  let brokerConfig: NightshiftConfig;
  let brokerSecrets: SecretSource;

  beforeAll(async () => {
    h = await startRunnerHarness();
    broker = await startAwsLoopback((_name, payload) => brokerRequest(h.brokerDeps(brokerConfig, { secrets: brokerSecrets }), payload));
  });
  afterAll(async () => {
    sm.restore();
    await broker.stop();
    await h.stop();
  });
  beforeEach(() => {
    sm.reset();
    broker.invocations.length = 0;
    brokerSecrets = secretsManagerSource(new SecretsManagerClient({ region: 'us-east-1' }));
  });

  /** The runner's real broker client, over the Lambda Invoke API on loopback. */
  const viaBroker = (runId: string) =>
    tokenBrokerSecretSource(
      lambdaBrokerCaller(
        new LambdaClient({
          region: 'us-east-1',
          endpoint: broker.url,
          credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
        }),
        'token-broker',
        h.runKeyOf(runId),
      ),
    );

  it('Given a repo with a named secret, When an agent dumps its environment, Then the secret comes from the broker for that repository only, is offered to setup and base tests only, and is nowhere else', async () => {
    // Given a repo with a named secret in Secrets Manager
    sm.on(GetSecretValueCommand, { SecretId: SECRET_NAME }).resolves({ SecretString: secret });
    sm.on(GetSecretValueCommand, { SecretId: OTHER_SECRET_NAME }).resolves({ SecretString: 'other-repo-secret' });
    brokerConfig = configWithSecret();
    const run = await h.createRun({ prompt: 'Look around' });

    // When the runner runs a session whose agent dumps its environment
    const { end, logs, traceDir } = await startInProcessRun(h, run.runId, session('repo-secrets'), {
      config: configWithSecret(),
      deps: { secrets: viaBroker(run.runId) },
    }).done;

    // Then the runner asked the broker once, naming only its run, and the broker read only this repo's secret
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    expect(broker.invocations).toEqual([
      { functionName: 'token-broker', payload: { kind: 'repoSecrets', runId: run.runId, runKey: run.runKey } },
    ]);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: SECRET_NAME }]);

    // setup and the tests at base saw it; the tests at head (agent-written code) and the agent's `env` did not
    const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
    const trace = readFileSync(join(traceDir, run.runId, 'trace.jsonl'), 'utf8');
    const lines = trace
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name?: string; output?: string; phase?: string });
    expect(lines.find((l) => l.type === 'tool_call' && l.name === 'setup')!.output).toContain('setup has the key');
    const testOutputs = Object.fromEntries(lines.filter((l) => l.type === 'test_result').map((l) => [l.phase, l.output]));
    expect(testOutputs.base).toContain(`deploy key offered: ${secret.length} chars`);
    expect(testOutputs.head).toContain('deploy key offered: 0 chars');
    const envDump = lines.find((l) => l.type === 'tool_call' && l.name === 'shell')!.output!;
    expect(envDump).toContain('deploy=unset');
    expect(envDump).not.toContain('DEPLOY_KEY=');
    expect(
      events.some((e) => e.type === 'note' && e.message === 'secrets: DEPLOY_KEY offered to the setup commands and the tests at base only'),
    ).toBe(true);

    // so what the head tests wrote holds no secret and is committed as it is
    const result = end.kind === 'succeeded' ? end.result : undefined;
    expect(fileAt(h.bare, result!.branch!, 'NOTES.md')).toBe('Looked around.\n');
    expect(fileAt(h.bare, result!.branch!, 'captured.txt')).toBe('');

    // and the value is nowhere
    const [pr] = listPulls(h.forgeRoot, 'demo/sample-app').filter((p) => p.head === result!.branch);
    const stored = await h.db.store.runs.get(run.runId);
    for (const text of [trace, JSON.stringify(events), logs.join('\n'), pr!.body, JSON.stringify(stored), JSON.stringify(end)])
      expect(text).not.toContain(secret);
  });

  it('Given a repo that opts in (secretsInHeadTests), When the runner runs, Then the tests at head get the secret too, and a file that captured it is not committed', async () => {
    // Given a repo that opts in
    sm.on(GetSecretValueCommand, { SecretId: SECRET_NAME }).resolves({ SecretString: secret });
    brokerConfig = configWithSecret({ secretsInHeadTests: true });
    const run = await h.createRun({ prompt: 'Look around' });

    // When the runner runs
    const { end, traceDir } = await startInProcessRun(h, run.runId, session('repo-secrets'), {
      config: brokerConfig,
      deps: { secrets: viaBroker(run.runId) },
    }).done;

    // Then both test runs saw the secret
    expect(end).toMatchObject({ kind: 'succeeded', result: { outcome: 'pr_opened' } });
    const trace = readFileSync(join(traceDir, run.runId, 'trace.jsonl'), 'utf8');
    const testOutputs = trace
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; output?: string })
      .filter((l) => l.type === 'test_result')
      .map((l) => l.output);
    expect(testOutputs).toHaveLength(2);
    for (const out of testOutputs) expect(out).toContain(`deploy key offered: ${secret.length} chars`);
    const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
    expect(
      events.some(
        (e) =>
          e.type === 'note' &&
          e.message === 'secrets: DEPLOY_KEY offered to the setup commands and the tests at base and at head (secretsInHeadTests)',
      ),
    ).toBe(true);

    // and the file the head tests captured it into was left out of the commit
    const result = end.kind === 'succeeded' ? end.result : undefined;
    expect(fileAt(h.bare, result!.branch!, 'NOTES.md')).toBe('Looked around.\n');
    expect(() => fileAt(h.bare, result!.branch!, 'captured.txt')).toThrow(/does not exist/);
    expect(
      events.some((e) => e.type === 'note' && e.message.includes('files holding a secret value were left out of the commit: captured.txt')),
    ).toBe(true);
    const [pr] = listPulls(h.forgeRoot, 'demo/sample-app').filter((p) => p.head === result!.branch);
    for (const text of [trace, JSON.stringify(events), pr!.body]) expect(text).not.toContain(secret);
  });

  it('Given a secret that cannot be read, When the run starts, Then it fails clearly, before setup', async () => {
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    brokerConfig = configWithSecret();
    const run = await h.createRun({ prompt: 'Look around' });
    const { end } = await startInProcessRun(h, run.runId, session('repo-secrets'), {
      config: configWithSecret(),
      deps: { secrets: viaBroker(run.runId) },
    }).done;
    expect(end).toEqual({
      kind: 'failed',
      error: 'Nightshift.RunFailed',
      cause: `secret_unavailable: the token broker refused: could not read secret ${SECRET_NAME} for DEPLOY_KEY: ResourceNotFoundException`,
    });
    const { events } = await h.db.store.events.list(run.runId, { limit: 100 });
    expect(events.some((e) => e.type === 'test_result')).toBe(false);
  });

  it('Given a secret named like a tool environment variable, When the run starts, Then it is refused before the broker is asked', async () => {
    const base = testConfig(runnerFixture());
    const config = parseConfig({ ...base, repos: [{ ...base.repos[0]!, secrets: { PATH: SECRET_NAME } }] });
    brokerConfig = config;
    const run = await h.createRun({ prompt: 'Look around' });
    const { end } = await startInProcessRun(h, run.runId, session('repo-secrets'), { config, deps: { secrets: viaBroker(run.runId) } })
      .done;
    expect(end).toEqual({
      kind: 'failed',
      error: 'Nightshift.RunFailed',
      cause: "secret_unavailable: secret variable PATH would override the tool environment's PATH",
    });
    expect(broker.invocations).toEqual([]);
  });

  it('Given a setup command that spells the secret out, When its start is announced, Then the tool_start event shows the command with the value redacted', async () => {
    const base = configWithSecret();
    const config = parseConfig({
      ...base,
      repos: [{ ...base.repos[0]!, setup: [`test "$DEPLOY_KEY" = "${secret}" && echo "setup has the key"`] }, base.repos[1]!],
    });
    brokerConfig = config;
    sm.on(GetSecretValueCommand, { SecretId: SECRET_NAME }).resolves({ SecretString: secret });
    const run = await h.createRun({ prompt: 'Look around' });
    const { end } = await startInProcessRun(h, run.runId, session('repo-secrets'), { config, deps: { secrets: viaBroker(run.runId) } })
      .done;
    expect(end).toMatchObject({ kind: 'succeeded' });
    const { events } = await h.db.store.events.list(run.runId, { limit: 200 });
    const starts = events.filter((e) => e.type === 'tool_start');
    expect(starts.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'setup: test "$DEPLOY_KEY" = "[REDACTED]" && echo "setup has the key"',
        'tests at base: ' + testCommand.replace(/\s+/g, ' '),
      ]),
    );
    expect(JSON.stringify(events)).not.toContain(secret);
    // Every agent tool call was announced before it ran, in order.
    const agentStarts = starts.filter((e) => Number(e.detail?.turn) > 0).map((e) => e.detail?.name);
    const agentCalls = events.filter((e) => e.type === 'tool_call' && Number(e.detail?.turn) > 0).map((e) => e.detail?.name);
    expect(agentStarts).toEqual(agentCalls);
    expect(agentStarts.length).toBeGreaterThan(0);
  });

  it("Given local mode's secrets file, When a run asks for its secrets, Then the broker reads them from the file and Secrets Manager is never called", async () => {
    // Given the local secrets file (NIGHTSHIFT_SECRETS_FILE) the local platform's broker reads
    const file = join(h.root, 'secrets.json');
    writeFileSync(file, JSON.stringify({ [SECRET_NAME]: secret }));
    await expect(localSecretsFileSource(file)('other')).rejects.toThrow(`secret other is not in ${file}`);
    brokerSecrets = localSecretsFileSource(file);
    brokerConfig = configWithSecret();
    const run = await h.createRun({ prompt: 'Look around' });

    // When a run of the repo asks for its secrets
    const { end, traceDir } = await startInProcessRun(h, run.runId, session('repo-secrets'), {
      config: configWithSecret(),
      deps: { secrets: viaBroker(run.runId) },
    }).done;

    // Then setup got the value from the file, and Secrets Manager was never called
    expect(end).toMatchObject({ kind: 'succeeded' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    const trace = readFileSync(join(traceDir, run.runId, 'trace.jsonl'), 'utf8');
    expect(trace).toContain('setup has the key');
    expect(trace).not.toContain(secret);
  });
});
