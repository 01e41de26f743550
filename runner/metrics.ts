import type { MetricName, MetricRecord } from '../core/metrics/catalog';
import { createEmfWriter, emfBatchLine } from '../core/metrics/emf';
import type { LineSink } from './log';

/**
 * The runner's CloudWatch metrics, written as Embedded Metric Format lines on stdout (the awslogs
 * driver ships them; CloudWatch extracts the metrics). One list, so dashboards and alarms can name them.
 */
export { METRICS_NAMESPACE } from '../core/metrics/catalog';

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
  /** Sum of the refused-host counts, where the runner reports them (core/egress reportRefusedHosts). */
  egressBlocked: 'EgressBlocked',
} as const satisfies Record<string, MetricName>;
export type RunnerMetricName = (typeof runnerMetricNames)[keyof typeof runnerMetricNames];

export class RunnerMetrics {
  constructor(
    private readonly sink: LineSink,
    private readonly repo: string,
    private readonly runId: string,
  ) {}

  /** Metrics of the catalog (core/metrics/catalog.ts) that take the `repo` dimension, in one EMF line. */
  emit(values: Partial<Record<RunnerMetricName, number>>): void {
    if (Object.keys(values).length === 0) return;
    // runId is not a dimension (unbounded cardinality), but searchable in Logs Insights.
    this.sink(emfBatchLine(values, { repo: this.repo }, new Date(), { runId: this.runId }));
  }

  /** Records built by core/metrics/run-metrics.ts (e.g. runStartedMetrics), one EMF line each. */
  emitRecords(records: readonly MetricRecord[]): void {
    const writer = createEmfWriter({ write: this.sink, context: { runId: this.runId } });
    for (const record of records) writer.emit(record);
  }
}
