import type { LineSink } from './log';

/**
 * The runner's CloudWatch metrics, written as Embedded Metric Format lines on stdout (the awslogs
 * driver ships them; CloudWatch extracts the metrics). One list, so dashboards and alarms can name them.
 */
export const METRICS_NAMESPACE = 'Nightshift';

export const runnerMetricNames = {
  modelInputTokens: 'ModelInputTokens',
  modelOutputTokens: 'ModelOutputTokens',
  modelCacheReadTokens: 'ModelCacheReadTokens',
  modelCacheWriteTokens: 'ModelCacheWriteTokens',
  modelCostMicros: 'ModelCostMicroUsd',
  modelCalls: 'ModelCalls',
  toolCalls: 'ToolCalls',
  toolFailures: 'ToolFailures',
  computeCostMicros: 'ComputeCostMicroUsd',
} as const;
export type RunnerMetricName = (typeof runnerMetricNames)[keyof typeof runnerMetricNames];

export class RunnerMetrics {
  constructor(
    private readonly sink: LineSink,
    private readonly repo: string,
    private readonly runId: string,
  ) {}

  emit(values: Partial<Record<RunnerMetricName, number>>): void {
    const names = Object.keys(values) as RunnerMetricName[];
    if (names.length === 0) return;
    const line = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [['Repo'], []],
            Metrics: names.map((name) => ({ Name: name, Unit: 'Count' })),
          },
        ],
      },
      Repo: this.repo,
      // Not a dimension (unbounded cardinality), but searchable in Logs Insights.
      runId: this.runId,
      ...values,
    };
    this.sink(JSON.stringify(line));
  }
}
