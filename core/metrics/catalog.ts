import * as z from 'zod';
import { RepoName } from '../config/schema';
import { RunSource } from '../runs/lifecycle';

/**
 * Every custom metric Nightshift emits: one list used by the code that emits (Lambda handlers and the
 * runner, both through EMF lines) and by the dashboard and alarms
 * (infra/constructs/monitoring.ts), so a chart can never point at a name nobody writes.
 *
 * Dimensions stay low-cardinality: `repo` (the allowlist), `source` (five values) and, for refused
 * submissions only, `reason` (the closed set below), for API answers `route` (the fixed route names). Each listed dimension is written as its own
 * dimension set next to the empty set, never combined, so every metric also has an org-wide series
 * (no dimensions) that alarms use, and at most |repos| + 5 + |reasons| series per name.
 */
export const METRICS_NAMESPACE = 'Nightshift';

export const MetricDimension = z.enum(['repo', 'source', 'reason', 'route']);
export type MetricDimension = z.infer<typeof MetricDimension>;

/** Why a submission was refused; the `reason` dimension of `SubmissionsRefused`. */
export const RefusalReason = z.enum([
  'intake_paused',
  'requester_budget',
  'org_budget',
  'repo_not_allowed',
  'requester_not_allowed',
  'invalid_request',
  'branch_not_allowed',
]);
export type RefusalReason = z.infer<typeof RefusalReason>;

/** Values each dimension may take: checked on every emission, so a run id can never become a dimension. */
export const DimensionValue = {
  repo: RepoName,
  source: RunSource,
  reason: RefusalReason,
  route: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be an API route name such as submit-run'),
} as const satisfies Record<MetricDimension, z.ZodType<string>>;

/** EMF / CloudWatch units used here (a subset of CloudWatch's). */
export type MetricUnit = 'Count' | 'Seconds' | 'None';

/** The component that writes a metric; documentation for operators and a check target for tests. */
export type MetricEmitter = 'api' | 'submit' | 'finalize' | 'runner' | 'run-gauges' | 'circuit-breaker' | 'github-webhook';

export interface MetricDefinition {
  readonly unit: MetricUnit;
  readonly dimensions: readonly MetricDimension[];
  /** The statistic a chart or alarm aggregates this metric with. */
  readonly statistic: 'Sum' | 'Average' | 'Maximum';
  readonly emittedBy: readonly MetricEmitter[];
  readonly description: string;
}

export const metricCatalog = {
  RunsSubmitted: {
    unit: 'Count',
    dimensions: ['repo', 'source'],
    statistic: 'Sum',
    emittedBy: ['submit'],
    description: 'runs accepted (QUEUED) by the API, the CLI, GitHub triggers or a schedule',
  },
  SubmissionsRefused: {
    unit: 'Count',
    dimensions: ['reason', 'source'],
    statistic: 'Sum',
    emittedBy: ['submit'],
    description: 'submissions refused by policy: paused intake, daily budgets, allowlist, invalid request',
  },
  RunsStarted: {
    unit: 'Count',
    dimensions: ['repo', 'source'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'runs whose runner took over (STARTING -> RUNNING)',
  },
  QueueWaitSeconds: {
    unit: 'Seconds',
    dimensions: ['repo'],
    statistic: 'Average',
    emittedBy: ['runner'],
    description: 'time from submission until the runner started (queue plus task start-up)',
  },
  RunsSucceeded: {
    unit: 'Count',
    dimensions: ['repo', 'source'],
    statistic: 'Sum',
    emittedBy: ['finalize'],
    description: 'runs ended SUCCEEDED',
  },
  RunsFailed: {
    unit: 'Count',
    dimensions: ['repo', 'source'],
    statistic: 'Sum',
    emittedBy: ['finalize'],
    description: 'runs ended FAILED',
  },
  RunsTimedOut: {
    unit: 'Count',
    dimensions: ['repo', 'source'],
    statistic: 'Sum',
    emittedBy: ['finalize'],
    description: 'runs ended TIMED_OUT',
  },
  RunsCancelled: {
    unit: 'Count',
    dimensions: ['repo', 'source'],
    statistic: 'Sum',
    emittedBy: ['finalize'],
    description: 'runs ended CANCELLED',
  },
  RunsBudgetExceeded: {
    unit: 'Count',
    dimensions: ['repo', 'source'],
    statistic: 'Sum',
    emittedBy: ['finalize'],
    description: 'runs ended BUDGET_EXCEEDED',
  },
  RunDurationSeconds: {
    unit: 'Seconds',
    dimensions: ['repo'],
    statistic: 'Average',
    emittedBy: ['finalize'],
    description: 'wall-clock time from start to the terminal status, for runs that started',
  },
  RunCostMicroUsd: {
    unit: 'None',
    dimensions: ['repo', 'source'],
    statistic: 'Sum',
    emittedBy: ['finalize'],
    description: 'settled cost of each ended run (model calls plus compute), in micro-USD',
  },
  PullRequestsOpened: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['finalize'],
    description: 'draft pull requests opened',
  },
  PullRequestsUpdated: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['finalize'],
    description: 'existing pull requests a run pushed to',
  },
  PullRequestsMerged: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['github-webhook'],
    description: 'Nightshift pull requests merged (pull_request.closed with merged: true)',
  },
  PullRequestsClosedUnmerged: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['github-webhook'],
    description: 'Nightshift pull requests closed without a merge; with PullRequestsMerged it gives the merge rate',
  },
  PullRequestTimeToMergeSeconds: {
    unit: 'Seconds',
    dimensions: ['repo'],
    statistic: 'Average',
    emittedBy: ['github-webhook'],
    description: 'time from a Nightshift pull request being opened to its merge',
  },
  MergedPullRequestCostMicroUsd: {
    unit: 'None',
    dimensions: ['repo'],
    statistic: 'Average',
    emittedBy: ['github-webhook'],
    description: "what all runs of a merged pull request's thread spent together (the issue run and its iterations), in micro-USD",
  },
  ModelCalls: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'model (Bedrock Converse) calls settled',
  },
  ModelInputTokens: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'model input tokens, per call',
  },
  ModelOutputTokens: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'model output tokens, per call',
  },
  ModelCacheReadTokens: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'prompt-cache read tokens, per call',
  },
  ModelCacheWriteTokens: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'prompt-cache write tokens, per call',
  },
  ModelCostMicroUsd: {
    unit: 'None',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'cost of each settled model call as it is spent, in micro-USD; with ComputeCostMicroUsd it drives the spend alarm',
  },
  ComputeCostMicroUsd: {
    unit: 'None',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'compute (Fargate) time charged to runs as it is charged, in micro-USD',
  },
  ToolCalls: { unit: 'Count', dimensions: ['repo'], statistic: 'Sum', emittedBy: ['runner'], description: 'agent tool calls executed' },
  ToolFailures: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'agent tool calls that failed or were refused',
  },
  EgressBlocked: {
    unit: 'Count',
    dimensions: ['repo'],
    statistic: 'Sum',
    emittedBy: ['runner'],
    description: 'connections the egress proxy refused (host outside the allowlist)',
  },
  RunsQueued: {
    unit: 'Count',
    dimensions: [],
    statistic: 'Maximum',
    emittedBy: ['run-gauges'],
    description: 'runs waiting in QUEUED (sampled every minute)',
  },
  RunsStarting: {
    unit: 'Count',
    dimensions: [],
    statistic: 'Maximum',
    emittedBy: ['run-gauges'],
    description: 'runs in STARTING (sampled every minute)',
  },
  OldestStartingSeconds: {
    unit: 'Seconds',
    dimensions: [],
    statistic: 'Maximum',
    emittedBy: ['run-gauges'],
    description: 'age of the oldest run in STARTING (0 when none); drives the stuck-runs alarm',
  },
  IntakePaused: {
    unit: 'None',
    dimensions: [],
    statistic: 'Maximum',
    emittedBy: ['run-gauges'],
    description: '1 while the circuit breaker holds intake paused, else 0',
  },
  Http2xx: { unit: 'Count', dimensions: ['route'], statistic: 'Sum', emittedBy: ['api'], description: 'API answers with a 2xx status' },
  Http4xx: {
    unit: 'Count',
    dimensions: ['route'],
    statistic: 'Sum',
    emittedBy: ['api'],
    description: 'API answers with a 4xx status (the caller was wrong)',
  },
  Http5xx: {
    unit: 'Count',
    dimensions: ['route'],
    statistic: 'Sum',
    emittedBy: ['api'],
    description: 'API answers with a 5xx status (a fault of ours)',
  },
  CircuitBreakerTripped: {
    unit: 'Count',
    dimensions: [],
    statistic: 'Sum',
    emittedBy: ['circuit-breaker'],
    description: 'times the spend alarm paused intake',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof metricCatalog;
export const metricNames = Object.keys(metricCatalog) as MetricName[];

/** The dimension values one emission of metric `N` must carry. */
export type DimensionsOf<N extends MetricName> = { [D in (typeof metricCatalog)[N]['dimensions'][number]]: string };

/** One value of one metric, ready for a sink. */
export type MetricRecord<N extends MetricName = MetricName> = N extends MetricName
  ? { readonly name: N; readonly value: number; readonly dimensions: DimensionsOf<N> }
  : never;

export function metricDefinition(name: MetricName): MetricDefinition {
  return metricCatalog[name];
}

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(metricCatalog, name);
}

/** Terminal status -> the counter it increments. */
export const terminalStatusMetric = {
  SUCCEEDED: 'RunsSucceeded',
  FAILED: 'RunsFailed',
  TIMED_OUT: 'RunsTimedOut',
  CANCELLED: 'RunsCancelled',
  BUDGET_EXCEEDED: 'RunsBudgetExceeded',
} as const satisfies Record<string, MetricName>;

/**
 * Checks a record against the catalog: a known name, a finite non-negative value, exactly the
 * catalog's dimensions, each value from its closed set. Returns the dimension sets to write
 * (the empty set first, then one per dimension).
 */
export function validateMetricRecord(record: { name: string; value: number; dimensions: Record<string, string> }): {
  definition: MetricDefinition;
  dimensionSets: string[][];
} {
  if (!isMetricName(record.name)) throw new Error(`unknown metric ${record.name}: add it to core/metrics/catalog.ts`);
  const definition = metricCatalog[record.name];
  if (!Number.isFinite(record.value) || record.value < 0)
    throw new RangeError(`metric ${record.name}: value ${record.value} is not a finite non-negative number`);
  const given = Object.keys(record.dimensions).sort();
  const expected = [...definition.dimensions].sort();
  if (given.join(',') !== expected.join(',')) {
    throw new Error(`metric ${record.name}: dimensions must be [${expected.join(', ')}], got [${given.join(', ')}]`);
  }
  for (const dimension of definition.dimensions) {
    const parsed = DimensionValue[dimension].safeParse(record.dimensions[dimension]);
    if (!parsed.success) throw new Error(`metric ${record.name}: dimension ${dimension} has a value outside its allowed set`);
  }
  return { definition, dimensionSets: [[], ...definition.dimensions.map((d) => [d])] };
}
