import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { encryptedTopic } from './encrypted-topic';
import type { MetricName } from '../../core/metrics/catalog';
import { monitoringDashboard, type MonitoringDashboardProps, type NamedDeadLetterQueue } from './monitoring-dashboard';
import { nightshiftMetric } from './nightshift-metric';
import type { Operations } from './operations';

/** The failed-run ratio is only meaningful over a few runs: below this many ended runs in the window it reads 0. */
export const FAILED_RATIO_MIN_RUNS = 3;
/** Window of the failed-run ratio. */
export const FAILED_RATIO_WINDOW = Duration.hours(1);
/** Window of the spend-rate alarm (the circuit breaker's trigger). */
export const SPEND_WINDOW = Duration.hours(1);

/**
 * What the dashboard charts, from the stack: every Lambda function of it (the circuit breaker's is added
 * here) and the dead-letter queues it owns, each of which also gets a not-empty alarm (the operations'
 * own is added here); the alarms are Monitoring's.
 */
export interface MonitoringProps extends Omit<MonitoringDashboardProps, 'alarms'> {
  /** The gauges, the slot repair, the intake switch; the spend alarm is wired to its circuit breaker. */
  readonly operations: Operations;
}

/**
 * The on-call view: alarms to one encrypted SNS topic (the configured e-mails) and the dashboard of
 * what runs do, cost and where they get stuck (monitoring-dashboard.ts; the metrics come from
 * nightshift-metric.ts). The spend-rate alarm trips the circuit breaker of
 * Operations (infra/constructs/operations.ts), whose run gauges the stuck-runs alarm reads.
 */
export class Monitoring extends Construct {
  readonly alarmTopic: sns.Topic;
  /** Every alarm's action, on firing and on clearing: a message on `alarmTopic`. */
  private readonly alarmAction: actions.SnsAction;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: {
    readonly failedRunRatio: cloudwatch.Alarm;
    readonly stateMachineFailures: cloudwatch.Alarm;
    readonly stuckStarting: cloudwatch.Alarm;
    readonly spendPerHour?: cloudwatch.Alarm;
    readonly deadLetters: readonly cloudwatch.Alarm[];
  };

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, operations } = props;

    this.alarmTopic = this.createAlarmTopic(config.alarms.emails);
    this.alarmAction = new actions.SnsAction(this.alarmTopic);

    const deadLetterQueues: NamedDeadLetterQueue[] = [
      ...props.deadLetterQueues,
      { name: 'ops', queue: operations.deadLetters as sqs.IQueue },
    ];
    const deadLetterAlarms = deadLetterQueues.map(({ name, queue }) =>
      this.alarm(`DeadLettersNotEmpty-${name}`, {
        alarmDescription: `Nightshift: the ${name} dead-letter queue has messages. See docs/operations.md#dead-letters-not-empty`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
    );

    const ended = (name: MetricName) => `FILL(${name.toLowerCase()}, 0)`;
    const endedMetrics = {
      runssucceeded: nightshiftMetric('RunsSucceeded', { period: FAILED_RATIO_WINDOW }),
      runsfailed: nightshiftMetric('RunsFailed', { period: FAILED_RATIO_WINDOW }),
      runstimedout: nightshiftMetric('RunsTimedOut', { period: FAILED_RATIO_WINDOW }),
      runsbudgetexceeded: nightshiftMetric('RunsBudgetExceeded', { period: FAILED_RATIO_WINDOW }),
    };
    const total = `(${ended('RunsSucceeded')} + ${ended('RunsFailed')} + ${ended('RunsTimedOut')} + ${ended('RunsBudgetExceeded')})`;
    const failedRunRatio = this.alarm('FailedRunRatio', {
      alarmDescription: `Nightshift: more than ${config.alarms.failedRunRatio * 100}% of the runs that ended in the last hour failed or timed out. See docs/operations.md#failed-run-ratio`,
      metric: new cloudwatch.MathExpression({
        // Cancelled runs are a human's choice and do not count; below a few runs the ratio is noise.
        expression: `IF(${total} >= ${FAILED_RATIO_MIN_RUNS}, (${ended('RunsFailed')} + ${ended('RunsTimedOut')}) / ${total}, 0)`,
        usingMetrics: endedMetrics,
        period: FAILED_RATIO_WINDOW,
        label: 'failed-run ratio',
      }),
      threshold: config.alarms.failedRunRatio,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    const stateMachineFailures = this.alarm('StateMachineFailures', {
      alarmDescription:
        'Nightshift: run executions failed (the backstop finalizes the runs; look for the cause). See docs/operations.md#state-machine-failures',
      metric: props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });

    const stuckStarting = this.alarm('StuckStarting', {
      alarmDescription: `Nightshift: a run has been STARTING for more than ${config.alarms.stuckStartingMinutes} minutes. See docs/operations.md#runs-stuck-in-starting`,
      metric: nightshiftMetric('OldestStartingSeconds', { period: Duration.minutes(5) }),
      threshold: config.alarms.stuckStartingMinutes * 60,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // The gauges write every minute; silence means the watchdog itself stopped, which is worth a page.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    let spendPerHour: cloudwatch.Alarm | undefined;
    if (config.alarms.spendPerHourUsd !== undefined) {
      spendPerHour = this.alarm('SpendPerHour', {
        alarmDescription: `Nightshift: more than ${config.alarms.spendPerHourUsd} USD spent within an hour; intake is paused by the circuit breaker. See docs/operations.md#spend-per-hour-and-the-circuit-breaker`,
        metric: new cloudwatch.MathExpression({
          expression: '(FILL(model, 0) + FILL(compute, 0)) / 1000000',
          usingMetrics: {
            model: nightshiftMetric('ModelCostMicroUsd', { period: SPEND_WINDOW }),
            compute: nightshiftMetric('ComputeCostMicroUsd', { period: SPEND_WINDOW }),
          },
          period: SPEND_WINDOW,
          label: 'spend (USD per hour)',
        }),
        threshold: config.alarms.spendPerHourUsd,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
      operations.pauseIntakeOn(spendPerHour, this.alarmTopic);
    }

    this.alarms = {
      failedRunRatio,
      stateMachineFailures,
      stuckStarting,
      deadLetters: deadLetterAlarms,
      ...(spendPerHour ? { spendPerHour } : {}),
    };

    const breaker = operations.circuitBreakerFunction;
    const functions = [...props.functions, ...(breaker && !props.functions.includes(breaker) ? [breaker] : [])];
    this.dashboard = monitoringDashboard(this, {
      config,
      stateMachine: props.stateMachine,
      cluster: props.cluster,
      functions,
      deadLetterQueues,
      alarms: [failedRunRatio, stateMachineFailures, stuckStarting, ...(spendPerHour ? [spendPerHour] : []), ...deadLetterAlarms],
    });
  }

  /**
   * An alarm on one evaluation period that notifies the alarm topic when it fires and when it clears.
   * Missing data is not breaching unless `props` says otherwise.
   */
  private alarm(id: string, props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'>): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(this.alarmAction);
    alarm.addOkAction(this.alarmAction);
    return alarm;
  }

  private createAlarmTopic(emails: readonly string[]): sns.Topic {
    const { topic, key } = encryptedTopic(this, 'AlarmTopic', {
      displayName: 'Nightshift alarms',
      keyDescription: 'Encrypts the Nightshift alarm topic',
      emails,
    });
    // CloudWatch alarms publish to an encrypted topic only if they may use its key.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return topic;
  }
}
