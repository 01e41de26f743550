import { createLogger } from '../../core/observability/logger';
import { METRICS_NAMESPACE, metricCatalog, metricNames, validateMetricRecord, type MetricRecord } from '../../core/metrics/catalog';
import { EmfDocument, createEmfWriter, emfBatchLine, emfLine } from '../../core/metrics/emf';
import { createLambdaMetricsSink } from '../../core/metrics/lambda-sink';
import { runEndedMetrics, runStartedMetrics, refusalReasonOf, submissionRefusedMetrics } from '../../core/metrics/run-metrics';
import { BudgetRefusedError, IntakePausedError, RepoNotAllowedError } from '../../core/errors';
import { createIntakeFlag } from '../../adapters/dynamodb/intake-flag';
import { intakeAdminHandler } from '../../lambdas/ops/intake';
import { RunnerMetrics } from '../../runner/metrics';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';

/** Checks an EMF line the way CloudWatch would, and that it only uses catalog names and dimension sets. */
function parseCatalogEmf(line: string) {
  const doc = EmfDocument.parse(JSON.parse(line));
  const directive = doc._aws.CloudWatchMetrics[0]!;
  expect(directive.Namespace).toBe(METRICS_NAMESPACE);
  for (const metric of directive.Metrics) {
    expect(metricNames).toContain(metric.Name);
    const definition = metricCatalog[metric.Name as keyof typeof metricCatalog];
    expect(metric.Unit).toBe(definition.unit);
    expect(directive.Dimensions).toEqual([[], ...definition.dimensions.map((d) => [d])]);
  }
  return { doc, names: directive.Metrics.map((m) => m.Name), root: doc as Record<string, unknown> };
}

/** Lines Powertools writes to stdout while `action` runs. */
async function captureStdout(action: () => Promise<unknown> | unknown): Promise<string[]> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((l) => l.trim().length > 0),
    );
    return true;
  });
  try {
    await action();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

const emfLines = (lines: string[]) => lines.filter((l) => l.includes('"_aws"'));
const at = new Date('2025-03-01T12:00:00Z');

describe('EMF from the catalog', () => {
  it('Given a catalog record, When it is written, Then it is valid EMF: the org-wide set plus one set per dimension, context as plain properties', () => {
    const { names, root, doc } = parseCatalogEmf(
      emfLine({ name: 'RunsSubmitted', value: 1, dimensions: { repo: 'acme/web', source: 'api' } }, at, {
        runId: '01J0000000000000000000000A',
      }),
    );
    expect(names).toEqual(['RunsSubmitted']);
    expect(doc._aws.Timestamp).toBe(at.getTime());
    expect(root).toMatchObject({ repo: 'acme/web', source: 'api', RunsSubmitted: 1, runId: '01J0000000000000000000000A' });
  });

  it('Given a context property named like a dimension or the metric, When the record is written, Then the dimension and the value win', () => {
    const line = emfLine({ name: 'ToolCalls', value: 3, dimensions: { repo: 'acme/web' } }, at, { repo: 'evil/other', ToolCalls: 'x' });
    expect(JSON.parse(line)).toMatchObject({ repo: 'acme/web', ToolCalls: 3 });
  });

  it('Given a name outside the catalog, missing or extra dimensions, a value outside a closed set or a bad number, When the record is validated, Then it is refused', () => {
    expect(() => validateMetricRecord({ name: 'RunsExploded', value: 1, dimensions: {} })).toThrow(/unknown metric/);
    expect(() => validateMetricRecord({ name: 'RunsSubmitted', value: 1, dimensions: { repo: 'acme/web' } })).toThrow(/dimensions must be/);
    expect(() => validateMetricRecord({ name: 'ToolCalls', value: 1, dimensions: { repo: 'acme/web', runId: 'x' } })).toThrow(
      /dimensions must be/,
    );
    expect(() => validateMetricRecord({ name: 'SubmissionsRefused', value: 1, dimensions: { reason: 'because', source: 'api' } })).toThrow(
      /allowed set/,
    );
    expect(() => validateMetricRecord({ name: 'RunsSubmitted', value: 1, dimensions: { repo: 'not a repo', source: 'api' } })).toThrow(
      /allowed set/,
    );
    expect(() => validateMetricRecord({ name: 'ToolCalls', value: Number.NaN, dimensions: { repo: 'acme/web' } })).toThrow(RangeError);
    expect(() => validateMetricRecord({ name: 'ToolCalls', value: -1, dimensions: { repo: 'acme/web' } })).toThrow(RangeError);
  });

  it('Given metrics that share dimensions, When they are batched, Then they go on one line; mixed dimension shapes and an empty batch are refused', () => {
    const { names, root } = parseCatalogEmf(
      emfBatchLine({ ModelCalls: 1, ModelInputTokens: 1200, ModelCostMicroUsd: 4_321 }, { repo: 'acme/web' }, at, { runId: 'r' }),
    );
    expect(names).toEqual(['ModelCalls', 'ModelInputTokens', 'ModelCostMicroUsd']);
    expect(root).toMatchObject({ ModelInputTokens: 1200, ModelCostMicroUsd: 4_321, repo: 'acme/web' });
    expect(() => emfBatchLine({ ModelCalls: 1, RunsSubmitted: 1 }, { repo: 'acme/web' }, at)).toThrow();
    expect(() => emfBatchLine({}, { repo: 'acme/web' }, at)).toThrow(/at least one/);
  });

  it("Given the line writer, When records are emitted, Then each is one valid EMF line with the writer's context", () => {
    const lines: string[] = [];
    const writer = createEmfWriter({ write: (l) => lines.push(l), now: () => at, context: { runId: 'r1' } });
    for (const record of runStartedMetrics({ repo: 'acme/web', source: 'cli', createdAt: '2025-03-01T11:58:30Z' }, '2025-03-01T12:00:00Z'))
      writer.emit(record);
    expect(lines.map((l) => parseCatalogEmf(l).names[0])).toEqual(['RunsStarted', 'QueueWaitSeconds']);
    expect(JSON.parse(lines[1]!)).toMatchObject({ QueueWaitSeconds: 90, runId: 'r1' });
  });
});

describe('run metric records', () => {
  const ended = {
    repo: 'acme/web',
    source: 'github_issue' as const,
    outcome: 'pr_opened' as const,
    startedAt: '2025-03-01T12:00:00Z',
    finishedAt: '2025-03-01T12:10:00Z',
    spentMicros: 1_250_000,
  };

  it('Given an ended run, When its metrics are made, Then it is counted once by its status, with its cost, duration and pull request; a run not ended is refused', () => {
    expect(runEndedMetrics({ ...ended, status: 'SUCCEEDED' })).toEqual([
      { name: 'RunsSucceeded', value: 1, dimensions: { repo: 'acme/web', source: 'github_issue' } },
      { name: 'RunCostMicroUsd', value: 1_250_000, dimensions: { repo: 'acme/web', source: 'github_issue' } },
      { name: 'RunDurationSeconds', value: 600, dimensions: { repo: 'acme/web' } },
      { name: 'PullRequestsOpened', value: 1, dimensions: { repo: 'acme/web' } },
    ]);
    const cancelledInQueue = runEndedMetrics({ ...ended, status: 'CANCELLED', outcome: null, startedAt: null, spentMicros: 0 });
    expect(cancelledInQueue.map((r) => r.name)).toEqual(['RunsCancelled', 'RunCostMicroUsd']);
    expect(runEndedMetrics({ ...ended, status: 'TIMED_OUT' })[0]!.name).toBe('RunsTimedOut');
    expect(runEndedMetrics({ ...ended, status: 'BUDGET_EXCEEDED' })[0]!.name).toBe('RunsBudgetExceeded');
    expect(() => runEndedMetrics({ ...ended, status: 'RUNNING' })).toThrow(/not terminal/);
  });

  it('Given a submit error, When its refusal reason is read, Then refusals map to their reason and faults of ours are left uncounted', () => {
    expect(refusalReasonOf(new IntakePausedError('spend'))).toBe('intake_paused');
    expect(refusalReasonOf(new BudgetRefusedError('org', 60))).toBe('org_budget');
    expect(refusalReasonOf(new BudgetRefusedError('requester', 60))).toBe('requester_budget');
    expect(refusalReasonOf(new RepoNotAllowedError('x/y'))).toBe('repo_not_allowed');
    expect(refusalReasonOf(new Error('DynamoDB is down'))).toBeUndefined();
    expect(submissionRefusedMetrics('org_budget', 'schedule')).toEqual([
      { name: 'SubmissionsRefused', value: 1, dimensions: { reason: 'org_budget', source: 'schedule' } },
    ]);
  });
});

describe('EMF written by Lambda handlers (the Lambda metrics sink)', () => {
  let db: DynaliteHarness;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db.stop();
  });

  it('Given the Lambda metrics sink, When it emits records, Then it writes valid EMF without the service dimension', async () => {
    const sink = createLambdaMetricsSink();
    const records: MetricRecord[] = [
      { name: 'SubmissionsRefused', value: 1, dimensions: { reason: 'intake_paused', source: 'schedule' } },
      { name: 'OldestStartingSeconds', value: 42, dimensions: {} },
    ];
    const lines = emfLines(
      await captureStdout(() => {
        for (const r of records) sink.emit(r);
      }),
    );
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => parseCatalogEmf(l).names[0])).toEqual(['SubmissionsRefused', 'OldestStartingSeconds']);
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('service');
  });

  it('Given the intake admin handler, When it answers, Then its output parses as valid EMF with the expected names', async () => {
    const handler = intakeAdminHandler(() => ({
      intake: createIntakeFlag(db.doc, db.names.control),
      metrics: createLambdaMetricsSink(),
      log: createLogger({ serviceName: 'test', logLevel: 'SILENT' }),
    }));
    const event = {
      headers: {},
      body: JSON.stringify({ action: 'pause', reason: 'test' }),
      requestContext: {
        requestId: 'r-1',
        http: { method: 'POST' },
        authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/ops' } },
      },
    };
    const lines = emfLines(await captureStdout(() => handler(event)));
    expect(lines).toHaveLength(1);
    const { names, root } = parseCatalogEmf(lines[0]!);
    expect(names).toEqual(['Http2xx']);
    expect(root.route).toBe('admin-intake');
  });
});

describe("EMF written by the runner's metrics writer", () => {
  it("Given the runner's metrics writer, When it emits, Then the line parses as valid EMF using only catalog names and dimensions", () => {
    const lines: string[] = [];
    new RunnerMetrics((line) => lines.push(line), 'acme/web', '01J0000000000000000000000A').emit({
      ModelCalls: 1,
      ModelInputTokens: 900,
      ModelCostMicroUsd: 2_700,
    });
    expect(lines).toHaveLength(1);
    const { names, root } = parseCatalogEmf(lines[0]!);
    expect(names.sort()).toEqual(['ModelCalls', 'ModelCostMicroUsd', 'ModelInputTokens']);
    expect(root).toMatchObject({ repo: 'acme/web', runId: '01J0000000000000000000000A' });
  });
});
