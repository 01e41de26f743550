import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { generateKeyPairSync } from 'node:crypto';
import { parseConfig } from '../../core/config/load';
import { BudgetExhaustedError } from '../../core/errors';
import { IllegalTransitionError } from '../../core/runs/lifecycle';
import { newRunKey } from '../../core/runs/run-key';
import { newRunId } from '../../core/runs/run-id';
import { S3Client } from '@aws-sdk/client-s3';
import {
  brokerRequest,
  handler,
  RepoSecretUnavailableError,
  RunClosedError,
  RunKeyRefusedError,
  RunNotActiveError,
  RunObjectRefusedError,
  RUN_WRITE_GRACE_MS,
  s3SetupCachePresigner,
  SetupCacheClosedError,
  type TokenBrokerDeps,
} from '../../lambdas/token-broker';
import { BrokerOutcome, SetupCacheUrlResponse, TokenBrokerRequest, type TokenBrokerRequestKind } from '../../lambdas/token-broker-contract';
import { verifyForgeToken } from '../../local/forge';
import { brokerCheckpointStore, brokerEventLog, brokerLedger, brokerRunAccess, brokerTraceSink } from '../../runner/broker-run-data';
import { inProcessBroker, REPO, startRunnerHarness, type RunnerHarness } from './support/runner-harness';
import { runnerFixture, testConfig } from '../support/test-config';

/**
 * The token broker decides who is asking by the run key alone (docs/security.md#broker-identity-and-run-scoped-credentials):
 * every principal that may invoke the function (and a runner naming another run) is, to the broker, a caller without the
 * named run's key. Each kind of request is tried with every key such a caller could have.
 */

/** A well-formed request of each kind, minus the caller; `satisfies` makes a new kind fail to compile until it is listed here. */
const requestOf = {
  githubToken: () => ({}),
  repoSecrets: () => ({}),
  getRun: () => ({}),
  startRun: () => ({}),
  patchRun: () => ({ patch: { branch: 'nightshift/elsewhere' } }),
  appendEvent: () => ({ type: 'note', message: 'forged entry' }),
  reserveCall: () => ({ callId: 'call-1', worstMicros: 1 }),
  settleCall: () => ({ callId: 'call-1', actualMicros: 0, usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 } }),
  charge: () => ({ chargeId: 'compute-x', micros: 1 }),
  modelApiKey: () => ({}),
  traceUpload: () => ({}),
  checkpointUpload: () => ({ itemId: newRunId() }),
  checkpointDownload: () => ({ itemId: newRunId() }),
  setupCacheRead: () => ({ key: 'a'.repeat(64) }),
  setupCacheWrite: () => ({ key: 'a'.repeat(64) }),
} satisfies Record<TokenBrokerRequestKind, () => Record<string, unknown>>;
const kinds = Object.keys(requestOf) as TokenBrokerRequestKind[];

/** The value of a run-data answer, or the refusal as an error. */
async function outcomeValue(answer: Promise<unknown>): Promise<unknown> {
  const outcome = BrokerOutcome.parse(await answer);
  if (!outcome.ok) throw new Error(outcome.refusal.message);
  return outcome.value;
}

describe('the token broker', () => {
  let h: RunnerHarness;
  const secretsRead: string[] = [];
  const presigned: string[] = [];
  let deps: TokenBrokerDeps;
  beforeAll(async () => {
    h = await startRunnerHarness();
    deps = h.brokerDeps(testConfig(runnerFixture()), {
      secrets: async (name) => {
        secretsRead.push(name);
        return 'secret-value';
      },
      traces: async (runId, objectName, method) => {
        presigned.push(`${method} runs/${runId}/${objectName}`);
        return {
          url: `https://traces.example/runs/${runId}/${objectName}?X-Amz-Signature=x`,
          location: `s3://traces/runs/${runId}/${objectName}`,
          expiresAt: new Date(Date.now() + 300_000).toISOString(),
        };
      },
      // The real presigner: no network, it only signs (with dummy credentials).
      setupCache: s3SetupCachePresigner(
        new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' } }),
        'nightshift-traces',
      ),
    });
    const presignSetup = deps.setupCache!;
    deps.setupCache = {
      read: async (repo, key) => {
        presigned.push(`read ${repo}`);
        return presignSetup.read(repo, key);
      },
      write: async (repo, key) => {
        presigned.push(`write ${repo}`);
        return presignSetup.write(repo, key);
      },
    };
  });
  afterAll(async () => {
    await h.stop();
  });

  it('Given the broker contract, Then every request kind of it is listed in this test', () => {
    expect(TokenBrokerRequest.options.map((o) => o.shape.kind.value).sort()).toEqual([...kinds].sort());
  });

  describe.each(kinds)("%s from a caller that is not the named run's runner", (kind) => {
    /** What the broker could have changed or handed out: compared before and after each attempt. */
    async function observable(runId: string) {
      const run = await h.db.store.runs.get(runId);
      const events = await h.db.store.events.list(runId, { limit: 100 });
      return {
        run,
        events: events.events.length,
        secretsRead: secretsRead.length,
        presigned: presigned.length,
        forgeRequests: h.forge.requests.length,
      };
    }

    it.each([
      ['no key', (_target: string, _other: string) => undefined],
      ['a made-up key', () => newRunKey()],
      ["another run's key (a runner asking for someone else's run)", (_target: string, other: string) => h.runKeyOf(other)],
      ['a key that is not a key', () => 'x'.repeat(43).replace(/x/g, '!')],
    ])('Given a caller with %s, When it asks, Then it gets nothing and nothing changes', async (_label, keyFor) => {
      const target = await h.createRun({ status: 'RUNNING' });
      const other = await h.createRun({ status: 'RUNNING' });
      const before = await observable(target.runId);
      const runKey = keyFor(target.runId, other.runId);
      await expect(
        brokerRequest(deps, { kind, runId: target.runId, ...(runKey !== undefined ? { runKey } : {}), ...requestOf[kind]() }),
      ).rejects.toThrow(runKey !== undefined && /^[A-Za-z0-9_-]{43}$/.test(runKey) ? RunKeyRefusedError : Error);
      expect(await observable(target.runId)).toEqual(before);
    });

    it('Given a run that does not exist or was never launched, When a caller names it, Then it is refused the same way', async () => {
      await expect(brokerRequest(deps, { kind, runId: newRunId(), runKey: newRunKey(), ...requestOf[kind]() })).rejects.toBeInstanceOf(
        RunKeyRefusedError,
      );
      const never = await h.db.store.runs.get((await h.createRun({ status: 'QUEUED' })).runId);
      await h.db.doc.send(
        new UpdateCommand({ TableName: h.db.names.runs, Key: { runId: never!.runId }, UpdateExpression: 'REMOVE runKeyHash' }),
      );
      await expect(brokerRequest(deps, { kind, runId: never!.runId, runKey: newRunKey(), ...requestOf[kind]() })).rejects.toBeInstanceOf(
        RunKeyRefusedError,
      );
    });
  });

  it('Given a relaunch (a new key from Admit), When the task holding the previous key asks, Then it is shut out', async () => {
    const run = await h.createRun({ status: 'STARTING' });
    const first = await h.db.store.runKeys.issue(run.runId);
    const second = await h.db.store.runKeys.issue(run.runId);
    await expect(brokerRequest(deps, { kind: 'getRun', runId: run.runId, runKey: first })).rejects.toBeInstanceOf(RunKeyRefusedError);
    await expect(brokerRequest(deps, { kind: 'getRun', runId: run.runId, runKey: second })).resolves.toMatchObject({
      ok: true,
      value: { runId: run.runId },
    });
  });

  it('Given a runner asking for its run, When the record is returned, Then it never carries the key hash', async () => {
    const run = await h.createRun({ status: 'RUNNING' });
    const answer = await brokerRequest(deps, { kind: 'getRun', runId: run.runId, runKey: run.runKey });
    expect(JSON.stringify(answer)).not.toMatch(/runKeyHash|[0-9a-f]{64}/);
  });

  describe('what a runner may record on its own run', () => {
    it.each([
      ['repo', { repo: 'demo/other-app' }],
      ['status', { status: 'SUCCEEDED' }],
      ['requester', { requester: 'arn:aws:iam::123456789012:user/someone-else' }],
      ['budget', { budgetMicros: 10 ** 12 }],
      ['spend', { spentMicros: 0 }],
      ['headroom', { headroomMicros: 10 ** 12 }],
      ['cancel flag', { cancelRequested: false }],
      ['a run key hash', { runKeyHash: '0'.repeat(64) }],
    ])(
      'Given a patch of its %s, When the runner records it on its own run, Then it is refused and nothing changes',
      async (_field, patch) => {
        const run = await h.createRun({ status: 'RUNNING' });
        const before = await h.db.doc.send(new GetCommand({ TableName: h.db.names.runs, Key: { runId: run.runId } }));
        await expect(brokerRequest(deps, { kind: 'patchRun', runId: run.runId, runKey: run.runKey, patch })).rejects.toThrow();
        const after = await h.db.doc.send(new GetCommand({ TableName: h.db.names.runs, Key: { runId: run.runId } }));
        expect(after.Item).toEqual(before.Item);
      },
    );

    it("Given a STARTING run, When its runner starts it, records its branch and PR and charges its calls, Then it is RUNNING once, the records land, and the store's typed refusals come back", async () => {
      const run = await h.createRun({ status: 'STARTING' });
      const caller = inProcessBroker(deps, run.runKey);
      const access = brokerRunAccess(caller);
      await expect(access.start(run.runId)).resolves.toMatchObject({ status: 'RUNNING' });
      await expect(access.start(run.runId)).rejects.toBeInstanceOf(IllegalTransitionError);
      await expect(
        access.patch(run.runId, { branch: 'nightshift/fix-1', prUrl: 'https://github.com/demo/sample-app/pull/1' }),
      ).resolves.toMatchObject({ branch: 'nightshift/fix-1' });
      // The budget is $1: a call whose worst case is more is refused as the ledger refuses it.
      await expect(brokerLedger(caller).reserveCall(run.runId, 'call-big', 2_000_000)).rejects.toBeInstanceOf(BudgetExhaustedError);
      await brokerLedger(caller).reserveCall(run.runId, 'call-1', 10_000);
      await brokerLedger(caller).settleCall(run.runId, 'call-1', 4_000, { input: 10, output: 5, cacheRead: 0, cacheWrite: 0 });
      await brokerLedger(caller).charge(run.runId, 'compute-1', 1_000);
      expect(await h.db.store.runs.get(run.runId)).toMatchObject({ spentMicros: 5_000, tokens: { input: 10, output: 5 } });
      await expect(brokerEventLog(caller).append(run.runId, 'note', 'hello', { a: 1 })).resolves.toMatchObject({
        runId: run.runId,
        type: 'note',
      });
    });
  });

  describe('the setup cache', () => {
    const key = 'b'.repeat(64);

    it("Given a runner naming any repository, When it reads or writes the setup cache, Then only its own run's repository's prefix is presigned, the write with If-None-Match", async () => {
      const run = await h.createRun({ status: 'RUNNING' });
      const read = SetupCacheUrlResponse.parse(
        await outcomeValue(brokerRequest(deps, { kind: 'setupCacheRead', runId: run.runId, runKey: run.runKey, key })),
      );
      expect(new URL(read.url).pathname).toBe(`/setup-cache/${REPO}/${key}.tar.gz`);
      const write = SetupCacheUrlResponse.parse(
        await outcomeValue(brokerRequest(deps, { kind: 'setupCacheWrite', runId: run.runId, runKey: run.runKey, key })),
      );
      expect(new URL(write.url).pathname).toBe(`/setup-cache/${REPO}/${key}.tar.gz`);
      // The no-overwrite condition is part of the signature: a PUT without it does not match.
      expect(write.headers).toMatchObject({ 'if-none-match': '*' });
      expect(new URL(write.url).searchParams.get('X-Amz-SignedHeaders')).toContain('if-none-match');
      // A key is 64 hex digits: nothing that could climb out of the prefix.
      await expect(
        brokerRequest(deps, { kind: 'setupCacheRead', runId: run.runId, runKey: run.runKey, key: '../other/repo' }),
      ).rejects.toThrow();
    });

    it('Given a run that has called the model, or one not RUNNING, When it asks for the setup cache, Then the write is refused, and both read and write for the run not RUNNING', async () => {
      const run = await h.createRun({ status: 'RUNNING', tokens: { input: 120, output: 30, cacheRead: 0, cacheWrite: 0 } });
      const before = presigned.length;
      await expect(brokerRequest(deps, { kind: 'setupCacheWrite', runId: run.runId, runKey: run.runKey, key })).rejects.toBeInstanceOf(
        SetupCacheClosedError,
      );
      expect(presigned.length).toBe(before);
      const ended = await h.createRun({ status: 'SUCCEEDED', finishedAt: new Date().toISOString() });
      await expect(brokerRequest(deps, { kind: 'setupCacheRead', runId: ended.runId, runKey: ended.runKey, key })).rejects.toBeInstanceOf(
        RunNotActiveError,
      );
      await expect(brokerRequest(deps, { kind: 'setupCacheWrite', runId: ended.runId, runKey: ended.runKey, key })).rejects.toBeInstanceOf(
        RunNotActiveError,
      );
      expect(presigned.length).toBe(before);
    });
  });

  describe('after the run ended', () => {
    it('Given a run ended past the grace period, When its runner writes the timeline or the trace, Then both are closed to it', async () => {
      const ended = new Date(Date.now() - RUN_WRITE_GRACE_MS - 1_000).toISOString();
      const run = await h.createRun({ status: 'SUCCEEDED', finishedAt: ended });
      const caller = inProcessBroker(deps, run.runKey);
      const before = presigned.length;
      await expect(brokerEventLog(caller).append(run.runId, 'note', 'rewritten history')).rejects.toMatchObject({
        message: expect.stringContaining('closed'),
      });
      await expect(brokerTraceSink(caller).put(run.runId, 'forged trace')).rejects.toThrow();
      await expect(brokerRequest(deps, { kind: 'traceUpload', runId: run.runId, runKey: run.runKey })).rejects.toBeInstanceOf(
        RunClosedError,
      );
      expect(presigned.length).toBe(before);
    });

    it('Given a run ended within the grace period (the SIGTERM path), When its runner stores its last trace, Then it is stored', async () => {
      const run = await h.createRun({ status: 'CANCELLED', finishedAt: new Date().toISOString() });
      const puts: string[] = [];
      const sink = brokerTraceSink(inProcessBroker(deps, run.runKey), (async (url: string) => {
        puts.push(url);
        return new Response(null, { status: 200 });
      }) as unknown as typeof fetch);
      await expect(sink.put(run.runId, '{}\n')).resolves.toBe(`s3://traces/runs/${run.runId}/trace.jsonl`);
      expect(puts).toEqual([expect.stringContaining(`/runs/${run.runId}/trace.jsonl`)]);
    });
  });

  describe("checkpoints and later traces: the run's own objects, each in the state that needs it", () => {
    const resumeOf = (itemId: string, answer: string | null) => ({
      itemId,
      reason: 'question' as const,
      checkpoint: `s3://traces/runs/x/checkpoint-${itemId}.json`,
      answer,
      answeredAt: answer === null ? null : new Date().toISOString(),
      segment: 2,
    });
    const ask = (run: { runId: string; runKey: string }, kind: 'checkpointUpload' | 'checkpointDownload', itemId: string) =>
      brokerRequest(deps, { kind, runId: run.runId, runKey: run.runKey, itemId });

    it('Given a running run, When its checkpoint PUT is asked for, Then it is presigned under its own prefix, and nothing outside RUNNING or for a path in the item id', async () => {
      const run = await h.createRun({ status: 'RUNNING' });
      const itemId = newRunId();
      await expect(ask(run, 'checkpointUpload', itemId)).resolves.toMatchObject({
        ok: true,
        value: { location: `s3://traces/runs/${run.runId}/checkpoint-${itemId}.json` },
      });
      expect(presigned.at(-1)).toBe(`PUT runs/${run.runId}/checkpoint-${itemId}.json`);
      const before = presigned.length;
      for (const overrides of [
        { status: 'STARTING' as const },
        { status: 'WAITING_FOR_HUMAN' as const },
        { status: 'SUCCEEDED' as const, finishedAt: new Date().toISOString() },
        { status: 'RUNNING' as const, cancelRequested: true },
      ]) {
        const other = await h.createRun(overrides);
        await expect(ask(other, 'checkpointUpload', newRunId())).rejects.toBeInstanceOf(RunObjectRefusedError);
      }
      // A path in the item id is refused by the contract before anything is read.
      await expect(ask(run, 'checkpointUpload', '../../runs/other/trace')).rejects.toThrow();
      expect(presigned.length).toBe(before);
    });

    it('Given a resumed run, When a checkpoint GET is asked for, Then only the answered pause it resumes from is presigned, and that checkpoint is never replaced', async () => {
      const itemId = newRunId();
      const waiting = await h.createRun({ status: 'RUNNING', resume: resumeOf(itemId, null) });
      const resumed = await h.createRun({ status: 'RUNNING', resume: resumeOf(itemId, 'use strings') });
      const before = presigned.length;
      await expect(ask(waiting, 'checkpointDownload', itemId)).rejects.toBeInstanceOf(RunObjectRefusedError);
      await expect(ask(resumed, 'checkpointDownload', newRunId())).rejects.toBeInstanceOf(RunObjectRefusedError);
      await expect(ask(resumed, 'checkpointUpload', itemId)).rejects.toBeInstanceOf(RunObjectRefusedError);
      const never = await h.createRun({ status: 'RUNNING' });
      await expect(ask(never, 'checkpointDownload', itemId)).rejects.toBeInstanceOf(RunObjectRefusedError);
      expect(presigned.length).toBe(before);
      await expect(ask(resumed, 'checkpointDownload', itemId)).resolves.toMatchObject({ ok: true });
      expect(presigned.at(-1)).toBe(`GET runs/${resumed.runId}/checkpoint-${itemId}.json`);
    });

    it("Given presigned checkpoint URLs, When a checkpoint is written and read back, Then it round-trips, and a resumed task's trace is its own object", async () => {
      const itemId = newRunId();
      const run = await h.createRun({ status: 'RUNNING' });
      const objects = new Map<string, string>();
      const s3 = (async (url: string, init?: RequestInit) => {
        const key = new URL(url).pathname;
        if (init?.method === 'PUT') objects.set(key, String(init.body));
        return objects.has(key) ? new Response(objects.get(key) ?? '', { status: 200 }) : new Response(null, { status: 404 });
      }) as unknown as typeof fetch;
      await brokerCheckpointStore(inProcessBroker(deps, run.runKey), s3).put(run.runId, itemId, '{"v":1}');
      await h.db.store.runs.patch(run.runId, { resume: resumeOf(itemId, 'yes') });
      await expect(brokerCheckpointStore(inProcessBroker(deps, run.runKey), s3).read(run.runId, itemId)).resolves.toBe('{"v":1}');
      await expect(brokerTraceSink(inProcessBroker(deps, run.runKey), s3).put(run.runId, '{}\n', 2)).resolves.toBe(
        `s3://traces/runs/${run.runId}/trace-2.jsonl`,
      );
      // A segment the run has not reached is refused: a task cannot write ahead of itself.
      await expect(brokerRequest(deps, { kind: 'traceUpload', runId: run.runId, runKey: run.runKey, segment: 3 })).rejects.toBeInstanceOf(
        RunObjectRefusedError,
      );
    });

    it("Given a run resumed twice, When a trace upload is asked for, Then only the current segment is presigned, earlier tasks' traces stay final, and nothing while the run waits", async () => {
      const upload = (r: { runId: string; runKey: string }, segment?: number) =>
        brokerRequest(deps, { kind: 'traceUpload', runId: r.runId, runKey: r.runKey, ...(segment === undefined ? {} : { segment }) });
      // A run resumed twice is on segment 3: segments 1 (named by omission or explicitly) and 2 are final.
      const resumed = await h.createRun({ status: 'RUNNING', resume: { ...resumeOf(newRunId(), 'go on'), segment: 3 } });
      const before = presigned.length;
      for (const segment of [undefined, 2]) {
        const refused = upload(resumed, segment);
        await expect(refused).rejects.toBeInstanceOf(RunObjectRefusedError);
        await expect(refused).rejects.toThrow(/final/);
      }
      // The first task's trace has no explicit segment number: naming it is malformed, refused too.
      await expect(upload(resumed, 1)).rejects.toThrow();
      for (const segment of [4, 9]) await expect(upload(resumed, segment)).rejects.toBeInstanceOf(RunObjectRefusedError);
      // Whatever state the run is in: within the grace period after it ended, and while it waits for the next task.
      const ended = await h.createRun({
        status: 'CANCELLED',
        finishedAt: new Date().toISOString(),
        resume: { ...resumeOf(newRunId(), 'yes'), segment: 2 },
      });
      await expect(upload(ended)).rejects.toBeInstanceOf(RunObjectRefusedError);
      const waiting = await h.createRun({ status: 'WAITING_FOR_HUMAN', resume: { ...resumeOf(newRunId(), null), segment: 2 } });
      for (const segment of [undefined, 2]) await expect(upload(waiting, segment)).rejects.toBeInstanceOf(RunObjectRefusedError);
      expect(presigned.length).toBe(before);
      // The current task's trace still works, in a running run and in the grace period.
      await expect(upload(resumed, 3)).resolves.toMatchObject({
        ok: true,
        value: { location: `s3://traces/runs/${resumed.runId}/trace-3.jsonl` },
      });
      expect(presigned.at(-1)).toBe(`PUT runs/${resumed.runId}/trace-3.jsonl`);
      await expect(upload(ended, 2)).resolves.toMatchObject({ ok: true });
      const first = await h.createRun({ status: 'RUNNING' });
      await expect(upload(first)).resolves.toMatchObject({ ok: true, value: { location: `s3://traces/runs/${first.runId}/trace.jsonl` } });
    });
  });

  describe('GitHub tokens', () => {
    const appConfig = (apiUrl: string) =>
      parseConfig({
        ...testConfig(runnerFixture()),
        github: { appId: 4242, installationId: 1, privateKeySecret: 'nightshift/github-app-key', apiUrl },
      });

    it.each(['SUCCEEDED', 'FAILED', 'CANCELLED', 'STARTING', 'QUEUED'] as const)(
      'Given its run %s, When its own runner asks for a GitHub token, Then it is refused',
      async (status) => {
        const run = await h.createRun({ status });
        const secrets = jest.fn(async () => 'never read');
        await expect(
          brokerRequest(
            { ...deps, config: appConfig(h.forge.url), secrets, forgeRoot: undefined },
            { kind: 'githubToken', runId: run.runId, runKey: run.runKey },
          ),
        ).rejects.toBeInstanceOf(RunNotActiveError);
        expect(secrets).not.toHaveBeenCalled();
      },
    );

    it('Given a running run whose cancel was requested, a caller naming a repository or malformed input, When a GitHub token is asked for, Then it is refused', async () => {
      const run = await h.createRun({ status: 'RUNNING', cancelRequested: true });
      await expect(brokerRequest(deps, { kind: 'githubToken', runId: run.runId, runKey: run.runKey })).rejects.toThrow(/cancel-requested/);
      const running = await h.createRun({ status: 'RUNNING' });
      await expect(
        brokerRequest(deps, { kind: 'githubToken', runId: running.runId, runKey: running.runKey, repo: 'other/repo' }),
      ).rejects.toThrow();
      await expect(brokerRequest(deps, { kind: 'githubToken', runId: '../etc', runKey: running.runKey })).rejects.toThrow();
      await expect(brokerRequest(deps, { runId: running.runId, runKey: running.runKey })).rejects.toThrow();
    });

    it('Given a running run and a GitHub App, When the runner asks for its token, Then an installation token is minted for exactly the run repository with only the listed permissions', async () => {
      // Given a running run and an App whose key is in the secret store
      const { privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      const run = await h.createRun({ status: 'RUNNING' });
      const secrets = jest.fn(async () => privateKey);
      const before = h.forge.requests.length;

      // When the runner asks for its token
      const response = await brokerRequest(
        { ...deps, config: appConfig(h.forge.url), secrets, forgeRoot: undefined },
        { kind: 'githubToken', runId: run.runId, runKey: run.runKey },
      );

      // Then the token request names one repository and only these permissions, signed as the App
      expect(secrets).toHaveBeenCalledWith('nightshift/github-app-key');
      const sent = h.forge.requests.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ method: 'POST', path: '/app/installations/1/access_tokens', auth: 'bearer', status: 201 });
      expect(sent[0]!.body).toEqual({
        repositories: ['sample-app'],
        permissions: { contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' },
      });
      expect(response).toMatchObject({
        mode: 'app',
        repository: REPO,
        permissions: { contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' },
      });
      // and the token works for that repository only
      const token = (response as { token: string }).token;
      expect(verifyForgeToken(h.forgeRoot, token)).toMatchObject({ repo: REPO });
      expect(JSON.stringify(h.forge.requests)).not.toContain(token);
      expect(JSON.stringify(h.forge.requests)).not.toContain(privateKey.slice(40, 80));
    });

    it('Given a personal access token secret instead of an App, When the runner asks for its token, Then the broker falls back to it (documented as weaker)', async () => {
      const run = await h.createRun({ status: 'RUNNING' });
      const config = parseConfig({ ...testConfig(runnerFixture()), github: { tokenSecret: 'nightshift/github-pat' } });
      const response = await brokerRequest(
        {
          ...deps,
          config,
          forgeRoot: undefined,
          secrets: async (name) => (name === 'nightshift/github-pat' ? 'github_pat_0123456789abcdefghij\n' : 'wrong'),
        },
        { kind: 'githubToken', runId: run.runId, runKey: run.runKey },
      );
      expect(response).toMatchObject({ mode: 'pat', token: 'github_pat_0123456789abcdefghij', repository: REPO });
    });

    it('Given local mode, When the runner asks for its token, Then a forge token is issued that the forge accepts for writes to that repository only', async () => {
      const run = await h.createRun({ status: 'RUNNING' });
      const response = (await brokerRequest(deps, { kind: 'githubToken', runId: run.runId, runKey: run.runKey })) as {
        mode: string;
        token: string;
      };
      expect(response.mode).toBe('forge');
      const post = (token: string | undefined, repo: string) =>
        fetch(`${h.forge.url}/repos/${repo}/issues/999/comments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `token ${token}` } : {}) },
          body: JSON.stringify({ body: 'hi' }),
        });
      expect((await post(undefined, REPO)).status).toBe(401);
      expect((await post('nsf_forged', REPO)).status).toBe(401);
      expect((await post(response.token, REPO)).status).toBe(404); // authorised; the issue does not exist
    });
  });

  describe('repo secrets', () => {
    // Two repositories with a secret each: a run of one gets only its own.
    const config = parseConfig({
      ...testConfig(runnerFixture()),
      repos: [
        { ...testConfig(runnerFixture()).repos[0]!, secrets: { DEPLOY_KEY: 'nightshift/sample/deploy' } },
        { name: 'demo/other-app', secrets: { OTHER_KEY: 'nightshift/other/deploy' } },
      ],
    });
    const store: Record<string, string> = { 'nightshift/sample/deploy': 'sample-value', 'nightshift/other/deploy': 'other-value' };

    it("Given two repositories with a secret each, When a run asks for its secrets, Then only its repository's named secrets are returned, reading no other", async () => {
      const run = await h.createRun({ status: 'RUNNING' });
      const secrets = jest.fn(async (name: string) => store[name]!);
      await expect(
        brokerRequest({ ...deps, config, secrets }, { kind: 'repoSecrets', runId: run.runId, runKey: run.runKey }),
      ).resolves.toEqual({ repository: REPO, secrets: { DEPLOY_KEY: 'sample-value' } });
      expect(secrets.mock.calls).toEqual([['nightshift/sample/deploy']]);
    });

    it.each(['SUCCEEDED', 'FAILED', 'STARTING', 'QUEUED'] as const)(
      'Given its run %s, When its own runner asks for repo secrets, Then it is refused, reading nothing',
      async (status) => {
        const run = await h.createRun({ status });
        const secrets = jest.fn(async (name: string) => store[name]!);
        await expect(
          brokerRequest({ ...deps, config, secrets }, { kind: 'repoSecrets', runId: run.runId, runKey: run.runKey }),
        ).rejects.toBeInstanceOf(RunNotActiveError);
        expect(secrets).not.toHaveBeenCalled();
      },
    );

    it('Given a cancel-requested run or a caller naming a repository, When repo secrets are asked for, Then they are refused', async () => {
      const secrets = jest.fn(async (name: string) => store[name]!);
      const cancelled = await h.createRun({ status: 'RUNNING', cancelRequested: true });
      await expect(
        brokerRequest({ ...deps, config, secrets }, { kind: 'repoSecrets', runId: cancelled.runId, runKey: cancelled.runKey }),
      ).rejects.toThrow(/cancel-requested/);
      const run = await h.createRun({ status: 'RUNNING' });
      await expect(
        brokerRequest({ ...deps, config, secrets }, { kind: 'repoSecrets', runId: run.runId, runKey: run.runKey, repo: 'demo/other-app' }),
      ).rejects.toThrow();
      expect(secrets).not.toHaveBeenCalled();
    });

    it('Given a secret that cannot be read, When repo secrets are asked for, Then the error names the variable and the secret, never a value', async () => {
      const run = await h.createRun({ status: 'RUNNING' });
      const failing = async () => {
        throw Object.assign(new Error('value-like text'), { name: 'AccessDeniedException' });
      };
      await expect(
        brokerRequest({ ...deps, config, secrets: failing }, { kind: 'repoSecrets', runId: run.runId, runKey: run.runKey }),
      ).rejects.toEqual(
        new RepoSecretUnavailableError('could not read secret nightshift/sample/deploy for DEPLOY_KEY: AccessDeniedException'),
      );
    });
  });

  it('Given a refused request, When the Lambda entry logs it, Then it logs who was refused, never the key it was offered', async () => {
    const run = await h.createRun({ status: 'RUNNING' });
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const env = { ...process.env };
    Object.assign(process.env, {
      RUNS_TABLE: h.db.names.runs,
      EVENTS_TABLE: h.db.names.events,
      CONTROL_TABLE: h.db.names.control,
      IDEMPOTENCY_TABLE: h.db.names.idempotency,
      INBOX_TABLE: h.db.names.inbox,
      AWS_ENDPOINT_URL_DYNAMODB: h.db.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
      NIGHTSHIFT_CONFIG_JSON: JSON.stringify(testConfig(runnerFixture())),
    });
    try {
      const wrong = newRunKey();
      await expect(handler({ kind: 'githubToken', runId: run.runId, runKey: wrong })).rejects.toBeInstanceOf(RunKeyRefusedError);
      expect(lines.join('\n')).toContain('request refused');
      expect(lines.join('\n')).not.toContain(wrong);
    } finally {
      log.mockRestore();
      process.env = env;
    }
  });
});
