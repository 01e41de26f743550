import './quiet-powertools';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { controlItemKey, ledgerDay } from '../../adapters/dynamodb/tables';
import { RunId } from '../../core/runs/schemas';
import { apiLogger } from '../../lambdas/api/observability';
import { submitRunHandler } from '../../lambdas/api/submit-run';
import { alice, apiEvent, bodyOf, snapshotTables, startApi, type ApiHarness } from './api-harness';
import { apiFixture, testConfig } from '../support/test-config';
import { freshEachTest } from '../support/fresh-each-test';

async function committedMicros(api: ApiHarness, pk: string): Promise<number> {
  const out = await api.db.doc.send(new GetCommand({ TableName: api.db.names.control, Key: { pk } }));
  return (out.Item?.committedMicros as number | undefined) ?? 0;
}

const orgDay = () => controlItemKey.orgDay(ledgerDay(new Date()));

describe('POST /v1/runs', () => {
  const api = freshEachTest(startApi);
  const submit = submitRunHandler(() => api.deps);

  it('Given a valid request, When it is submitted, Then the run is stored QUEUED, its budget reserved, and its execution started named by the run id', async () => {
    const result = await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'Fix the failing date test', labels: ['deps'] } }));

    expect(result.statusCode).toBe(202);
    expect(result.headers['x-request-id']).toMatch(/^req-/);
    const body = bodyOf(result);
    expect(RunId.safeParse(body.runId).success).toBe(true);
    expect(body).toEqual({
      runId: body.runId,
      status: 'QUEUED',
      links: { self: `/v1/runs/${body.runId}`, events: `/v1/runs/${body.runId}/events`, cancel: `/v1/runs/${body.runId}/cancel` },
    });

    const run = await api.deps.runs.get(body.runId);
    expect(run).toMatchObject({
      status: 'QUEUED',
      repo: 'acme/web',
      requester: alice,
      source: 'api',
      budgetMicros: 1_000_000,
      maxMinutes: 20,
      labels: ['deps'],
      requestHash: null,
    });
    expect(await committedMicros(api, orgDay())).toBe(1_000_000);
    const { events } = await api.deps.events.list(body.runId, { limit: 10 });
    expect(events.map((e) => e.type)).toEqual(['status']);

    const starts = api.sfn.commandCalls(StartExecutionCommand);
    expect(starts).toHaveLength(1);
    expect(starts[0]!.args[0].input.name).toBe(body.runId);
    expect(JSON.parse(starts[0]!.args[0].input.input!)).toEqual({
      runId: body.runId,
      repo: 'acme/web',
      timeoutSeconds: 20 * 60,
      heartbeatSeconds: 10 * 60,
      answerSeconds: 72 * 3600,
      capacityProvider: 'FARGATE_SPOT',
    });
  });

  it('Given neither request nor repo setting budget and time, When a CLI submission comes, Then the config defaults apply, the repo name is normalised and the run is marked as from the CLI', async () => {
    const result = await submit(apiEvent({ body: { repo: 'ACME/API', prompt: 'p' }, headers: { 'x-nightshift-source': 'cli' } }));
    expect(result.statusCode).toBe(202);
    const run = await api.deps.runs.get(bodyOf(result).runId);
    expect(run).toMatchObject({ repo: 'acme/api', source: 'cli', budgetMicros: 2_000_000, maxMinutes: 60 });
    expect(JSON.parse(api.sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).toMatchObject({
      timeoutSeconds: 3600,
      capacityProvider: 'FARGATE',
    });
  });

  it("Given a budget below one model call's worst case, When submitted, Then it is a 400 on budgetUsd naming the amount needed, writing nothing", async () => {
    const before = await snapshotTables(api.db);
    const result = await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'Fix the failing date test', budgetUsd: 0.01 } }));
    expect(result.statusCode).toBe(400);
    const error = bodyOf(result).error;
    expect(error.code).toBe('invalid_request');
    expect(error.details).toEqual([
      { path: 'budgetUsd', message: expect.stringMatching(/^budgetUsd: must be at least \$0\.\d\d: one model call can cost up to that/) },
    ]);
    // The amount named is enough.
    const needed = Number(/\$(\d+\.\d\d)/.exec(error.details[0].message)![1]);
    expect(await snapshotTables(api.db)).toEqual(before);
    expect(
      (await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'Fix the failing date test', budgetUsd: needed } }))).statusCode,
    ).toBe(202);
    expect(
      (await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'Fix the failing date test', budgetUsd: needed - 0.01 } }))).statusCode,
    ).toBe(400);
  });

  it('Given intake paused, When a run is submitted, Then it is refused with 503 and Retry-After, and nothing is written', async () => {
    await api.deps.intake.set(true, 'spend alarm');
    const before = await snapshotTables(api.db);
    const result = await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'p' } }));
    expect(result.statusCode).toBe(503);
    expect(result.headers['retry-after']).toBe('300');
    expect(bodyOf(result).error.code).toBe('intake_paused');
    expect(await snapshotTables(api.db)).toEqual(before);
  });

  it('Given an execution that cannot start, When a run is submitted, Then the caller gets 503 and the run ends FAILED with its budget returned, no slot held and nothing asked to stop', async () => {
    // Given StartExecution fails, and the SubmitRun role may not call StopExecution (as deployed)
    api.sfn.on(StartExecutionCommand).rejects(new Error('throttled'));
    api.sfn
      .on(StopExecutionCommand)
      .rejects(Object.assign(new Error('not authorized to perform states:StopExecution'), { name: 'AccessDeniedException' }));
    // When a run is submitted
    const result = await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'p' } }));
    // Then the caller is told the run could not start
    expect(result.statusCode).toBe(503);
    expect(bodyOf(result).error.code).toBe('execution_start_failed');
    // And the run ended FAILED with its ledger settled, nothing committed and no slot held
    const { runs } = await api.deps.runs.list({ limit: 10 });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'FAILED', settled: true, error: { code: 'execution_start_failed' } });
    expect(await committedMicros(api, orgDay())).toBe(0);
    expect(await committedMicros(api, controlItemKey.requesterDay(alice, ledgerDay(new Date())))).toBe(0);
    expect(await api.deps.slots.holders()).toEqual([]);
    // And no execution that never started was asked to stop
    expect(api.sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  it('Given a submission, When it is logged, Then every line carries its request id and run id', async () => {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    apiLogger.setLogLevel('INFO');
    try {
      const result = await submit(apiEvent({ body: { repo: 'acme/web', prompt: 'p' } }));
      const runId = bodyOf(result).runId as string;
      const logs = lines
        .flatMap((l) => l.split('\n'))
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logs.length).toBeGreaterThanOrEqual(2);
      for (const log of logs) expect(log).toMatchObject({ requestId: result.headers['x-request-id'], runId, service: 'nightshift-api' });
    } finally {
      apiLogger.setLogLevel('SILENT');
      write.mockRestore();
    }
  });
});

describe('50 concurrent submits against the org daily limit', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi(testConfig(apiFixture, { budgets: { perRunUsd: 1, maxPerRunUsd: 1, perRequesterDailyUsd: 10, dailyUsd: 10 } }));
  });
  afterAll(() => api.stop());

  it('Given an org daily limit of 10 runs, When 50 requesters submit at once, Then at most the limit is reserved and the refused ones get 429 with Retry-After', async () => {
    const submit = submitRunHandler(() => api.deps);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        submit(apiEvent({ body: { repo: 'acme/api', prompt: `task ${i}` }, requester: `arn:aws:iam::123456789012:user/u${i}` })),
      ),
    );
    const accepted = results.filter((r) => r.statusCode === 202);
    const refused = results.filter((r) => r.statusCode !== 202);

    expect(accepted).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) {
      expect(r.statusCode).toBe(429);
      expect(bodyOf(r).error.code).toBe('budget_exhausted');
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(86_400);
    }
    expect(await committedMicros(api, orgDay())).toBe(10_000_000);
    expect((await api.deps.runs.list({ limit: 100 })).runs).toHaveLength(10);
    expect(api.sfn.commandCalls(StartExecutionCommand)).toHaveLength(10);
  });
});
