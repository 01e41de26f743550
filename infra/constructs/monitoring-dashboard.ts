import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { RunSource } from '../../core/runs/lifecycle';
import { RefusalReason } from '../../core/metrics/catalog';
import { nightshiftMetric } from './nightshift-metric';

/** A dead-letter queue of the stack, under the name its alarm and chart show. */
export interface NamedDeadLetterQueue {
  readonly name: string;
  readonly queue: sqs.IQueue;
}

export interface MonitoringDashboardProps {
  readonly config: NightshiftConfig;
  readonly stateMachine: sfn.IStateMachine;
  readonly cluster: ecs.ICluster;
  /** Every Lambda function to chart errors and throttles of. */
  readonly functions: readonly lambda.IFunction[];
  readonly deadLetterQueues: readonly NamedDeadLetterQueue[];
  /** The alarms whose status the dashboard shows, in this order. */
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/**
 * The on-call dashboard (`Dashboard` in `scope`, named after the stack): what runs do, cost and where
 * they get stuck, with the alarms' status on top. Each chart is explained in docs/operations.md.
 */
export function monitoringDashboard(scope: Construct, props: MonitoringDashboardProps): cloudwatch.Dashboard {
  const m = nightshiftMetric;
  const period = Duration.minutes(5);
  const { config, functions, deadLetterQueues } = props;
  const repos = config.repos.map((r) => r.name);
  const usd = (id: string, name: 'ModelCostMicroUsd' | 'ComputeCostMicroUsd' | 'RunCostMicroUsd', label: string) =>
    new cloudwatch.MathExpression({
      expression: `${id} / 1000000`,
      usingMetrics: { [id]: m(name, { period: Duration.hours(1) }) },
      label,
      period: Duration.hours(1),
    });
  const graph = (title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}) =>
    new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, period, ...options });

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: Stack.of(scope).stackName,
    defaultInterval: Duration.hours(24),
  });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: '# Nightshift\nRuns, cost and what is stuck. Each chart and alarm is explained in `docs/operations.md`.',
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Alarms',
      alarms: [...props.alarms],
      width: 16,
      height: 4,
    }),
    new cloudwatch.SingleValueWidget({
      title: 'Now',
      metrics: [
        m('IntakePaused', { period: Duration.minutes(1), label: 'intake paused (1 = yes)' }),
        m('RunsQueued', { period: Duration.minutes(1) }),
        m('RunsStarting', { period: Duration.minutes(1) }),
      ],
      width: 8,
      height: 4,
    }),
  );
  dashboard.addWidgets(
    graph('Runs', [
      m('RunsSubmitted'),
      m('RunsStarted'),
      m('RunsSucceeded'),
      m('RunsFailed'),
      m('RunsTimedOut'),
      m('RunsCancelled'),
      m('RunsBudgetExceeded'),
    ]),
    graph(
      'Refused submissions by reason',
      RefusalReason.options.map((reason) => m('SubmissionsRefused', { dimensions: { reason }, label: reason })),
    ),
  );
  dashboard.addWidgets(
    graph(
      'Queue wait and run duration (seconds)',
      [
        m('QueueWaitSeconds', { statistic: 'p90', label: 'queue wait p90' }),
        m('RunDurationSeconds', { statistic: 'p90', label: 'run duration p90' }),
      ],
      {
        right: [m('QueueWaitSeconds', { label: 'queue wait avg' }), m('RunDurationSeconds', { label: 'run duration avg' })],
      },
    ),
    graph('Queue and STARTING', [m('RunsQueued', { period: Duration.minutes(1) }), m('RunsStarting', { period: Duration.minutes(1) })], {
      right: [m('OldestStartingSeconds', { period: Duration.minutes(1) })],
      rightAnnotations: [{ value: config.alarms.stuckStartingMinutes * 60, label: 'stuck threshold', color: cloudwatch.Color.RED }],
    }),
  );
  dashboard.addWidgets(
    graph('Tokens by kind', [m('ModelInputTokens'), m('ModelOutputTokens'), m('ModelCacheReadTokens'), m('ModelCacheWriteTokens')], {
      stacked: true,
    }),
    graph(
      'Cost (USD per hour)',
      [
        usd('model', 'ModelCostMicroUsd', 'model'),
        usd('compute', 'ComputeCostMicroUsd', 'compute'),
        usd('ended', 'RunCostMicroUsd', 'ended runs (settled)'),
      ],
      {
        period: Duration.hours(1),
        ...(config.alarms.spendPerHourUsd !== undefined
          ? { leftAnnotations: [{ value: config.alarms.spendPerHourUsd, label: 'circuit breaker', color: cloudwatch.Color.RED }] }
          : {}),
      },
    ),
  );
  dashboard.addWidgets(
    graph('Pull requests, tool calls, blocked egress', [m('PullRequestsOpened'), m('PullRequestsUpdated'), m('EgressBlocked')], {
      right: [m('ToolCalls'), m('ToolFailures'), m('ModelCalls')],
    }),
    graph(
      'Submitted by source',
      RunSource.options.map((source) => m('RunsSubmitted', { dimensions: { source }, label: source })),
    ),
  );
  // Outcomes on GitHub (core/github/pull-outcome.ts): counted per day, since reviews take days.
  const day = Duration.days(1);
  dashboard.addWidgets(
    graph(
      'Pull requests merged and closed (per day)',
      [
        m('PullRequestsMerged', { period: day, label: 'merged' }),
        m('PullRequestsClosedUnmerged', { period: day, label: 'closed unmerged' }),
      ],
      {
        period: day,
        right: [
          new cloudwatch.MathExpression({
            expression: 'IF(merged + closed > 0, 100 * merged / (merged + closed), 0)',
            usingMetrics: { merged: m('PullRequestsMerged', { period: day }), closed: m('PullRequestsClosedUnmerged', { period: day }) },
            label: 'merge rate (%)',
            period: day,
          }),
        ],
        rightYAxis: { min: 0, max: 100, label: '%', showUnits: false },
      },
    ),
    graph(
      'Time to merge (hours) and cost per merged PR (USD)',
      [
        new cloudwatch.MathExpression({
          expression: 'ttm / 3600',
          usingMetrics: { ttm: m('PullRequestTimeToMergeSeconds', { period: day }) },
          label: 'time from PR to merge (hours, avg)',
          period: day,
        }),
      ],
      {
        period: day,
        right: [
          new cloudwatch.MathExpression({
            expression: 'cost / 1000000',
            usingMetrics: { cost: m('MergedPullRequestCostMicroUsd', { period: day }) },
            label: 'cost per merged PR (USD, avg)',
            period: day,
          }),
        ],
      },
    ),
  );
  dashboard.addWidgets(
    graph(
      'Submitted by repo',
      repos.map((repo) => m('RunsSubmitted', { dimensions: { repo }, label: repo })),
    ),
    graph(
      'Model spend by repo (USD per hour)',
      repos.map(
        (repo, i) =>
          new cloudwatch.MathExpression({
            expression: `r${i} / 1000000`,
            usingMetrics: { [`r${i}`]: m('ModelCostMicroUsd', { dimensions: { repo }, period: Duration.hours(1) }) },
            label: repo,
            period: Duration.hours(1),
          }),
      ),
      { period: Duration.hours(1) },
    ),
  );
  dashboard.addWidgets(
    graph(
      'Lambda errors',
      functions.map((fn) => fn.metricErrors({ period, statistic: 'Sum' })),
    ),
    graph(
      'Lambda throttles',
      functions.map((fn) => fn.metricThrottles({ period, statistic: 'Sum' })),
    ),
  );
  dashboard.addWidgets(
    graph(
      'Run executions',
      [
        props.stateMachine.metricFailed({ period, statistic: 'Sum' }),
        props.stateMachine.metricAborted({ period, statistic: 'Sum' }),
        props.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
      ],
      {
        right: [props.stateMachine.metricStarted({ period, statistic: 'Sum' })],
      },
    ),
    graph(
      'Runner tasks and Bedrock throttles',
      [
        new cloudwatch.Metric({
          namespace: 'ECS/ContainerInsights',
          metricName: 'RunningTaskCount',
          dimensionsMap: { ClusterName: props.cluster.clusterName },
          statistic: 'Maximum',
          period,
          label: 'running tasks',
        }),
      ],
      {
        right: [
          new cloudwatch.Metric({
            namespace: 'AWS/Bedrock',
            metricName: 'InvocationThrottles',
            dimensionsMap: { ModelId: config.model.id },
            statistic: 'Sum',
            period,
            label: 'Bedrock throttles',
          }),
        ],
      },
    ),
  );
  dashboard.addWidgets(
    graph(
      'Dead-letter queue depth',
      deadLetterQueues.map(({ name, queue }) =>
        queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: name }),
      ),
    ),
    graph('API answers', [m('Http2xx'), m('Http4xx'), m('Http5xx')]),
  );
  return dashboard;
}
