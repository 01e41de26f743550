import { queueHoldsOf } from '../../core/runs/queue-holds';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { nightshiftFunction } from './lambda-defaults';
import { acknowledgeGuard } from './nag';
import type { State } from './state';

/** How often the run gauges (queue depth, oldest STARTING run, intake flag) are sampled and slots repaired. */
export const GAUGE_RATE = Duration.minutes(1);

export interface OperationsProps {
  readonly config: NightshiftConfig;
  readonly state: State;
  /** The API the operator's intake switch is a route of (IAM-signed callers only). */
  readonly httpApi: apigw.HttpApi;
  readonly logRetention: logs.RetentionDays;
}

/**
 * What keeps the platform running on its own and what an operator switches: the per-minute run gauges
 * (which also free slots held by ended or missing runs), the spend circuit breaker that pauses intake,
 * and the operator's intake switch (`/v1/admin/intake`). Monitoring watches them; it does not hold them.
 */
export class Operations extends Construct {
  /** Samples the run gauges every minute and repairs slots (core/runs/slot-reconciler.ts). */
  readonly runGaugesFunction: nodejs.NodejsFunction;
  /** `GET|POST /v1/admin/intake` (lambdas/ops/intake.ts). */
  readonly intakeFunction: nodejs.NodejsFunction;
  /** Dead letters of the operations' own triggers (gauge ticks, breaker deliveries). */
  readonly deadLetters: sqs.Queue;

  private readonly props: OperationsProps;
  private breaker: nodejs.NodejsFunction | undefined;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.props = props;
    const { config, state, logRetention } = props;

    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const dlqReason = 'This queue is itself the dead-letter queue of the run-gauge rule and the circuit-breaker subscription.';
    Validations.of(this.deadLetters).acknowledge({ id: 'AwsSolutions-SQS3', reason: dlqReason });
    acknowledgeGuard(this.deadLetters, { rule: 'sqs_dlq_check', reason: dlqReason });

    this.runGaugesFunction = nightshiftFunction(this, 'RunGauges', {
      entry: 'lambdas/ops/run-gauges.ts',
      description: 'Samples queue depth, the oldest STARTING run and the intake flag as metrics; frees slots of ended runs',
      config,
      logRetention,
      environment: {
        RUNS_TABLE: state.runs.tableName,
        EVENTS_TABLE: state.events.tableName,
        CONTROL_TABLE: state.control.tableName,
        ...state.runListEnvironment,
      },
      timeout: Duration.seconds(30),
    });
    // Only what a tick reads (runs by status, their events, the intake flag, the semaphores): no Scan.
    state.grantRunGaugeReads(this.runGaugesFunction);
    // Each tick also frees slots held by ended or missing runs.
    state.grantSlotRepair(this.runGaugesFunction);
    // The queue sweep; SendTaskSuccess on the run state machine is granted by the stack (Orchestrator.grantQueueWakeUp).
    state.grantQueueWake(this.runGaugesFunction);
    // The sweep checks the holds of held runs (reads only), for the holds this deployment can have.
    state.grantQueueHoldReads(this.runGaugesFunction, queueHoldsOf(config));
    new events.Rule(this, 'RunGaugesTick', {
      description: 'Samples the Nightshift run gauges',
      schedule: events.Schedule.rate(GAUGE_RATE),
      targets: [
        new eventTargets.LambdaFunction(this.runGaugesFunction, {
          deadLetterQueue: this.deadLetters,
          retryAttempts: 1,
          maxEventAge: Duration.minutes(5),
        }),
      ],
    });

    // The operator's switch of the spend circuit breaker: IAM-signed callers only, whatever config.auth
    // says; who may flip it is an IAM policy on /v1/admin/*.
    this.intakeFunction = nightshiftFunction(this, 'AdminIntake', {
      entry: 'lambdas/ops/intake.ts',
      description: 'GET|POST /v1/admin/intake: status, pause and resume of run intake',
      config,
      logRetention,
      environment: { CONTROL_TABLE: state.control.tableName },
      timeout: Duration.seconds(15),
    });
    state.grantIntakeFlag(this.intakeFunction);
    props.httpApi.addRoutes({
      path: '/v1/admin/intake',
      methods: [HttpMethod.GET, HttpMethod.POST],
      integration: new integrations.HttpLambdaIntegration('AdminIntakeIntegration', this.intakeFunction),
      authorizer: new authorizers.HttpIamAuthorizer(),
    });
  }

  /**
   * The spend circuit breaker: a function subscribed to the alarm topic that pauses intake when
   * `alarm` enters ALARM (only that alarm's ALARM notifications reach it; the function checks again).
   */
  pauseIntakeOn(alarm: cloudwatch.Alarm, topic: sns.ITopic): nodejs.NodejsFunction {
    const { config, state, logRetention } = this.props;
    const fn = nightshiftFunction(this, 'CircuitBreaker', {
      entry: 'lambdas/ops/circuit-breaker.ts',
      description: 'Pauses run intake when the spend-rate alarm fires',
      config,
      logRetention,
      environment: { CONTROL_TABLE: state.control.tableName, SPEND_ALARM_NAME: alarm.alarmName },
      timeout: Duration.seconds(15),
    });
    // Reads and sets the intake flag item, nothing else of the control table.
    state.grantIntakeFlag(fn);
    topic.addSubscription(
      new subscriptions.LambdaSubscription(fn, {
        deadLetterQueue: this.deadLetters,
        filterPolicyWithMessageBody: {
          AlarmName: sns.FilterOrPolicy.filter(sns.SubscriptionFilter.stringFilter({ allowlist: [alarm.alarmName] })),
          NewStateValue: sns.FilterOrPolicy.filter(sns.SubscriptionFilter.stringFilter({ allowlist: ['ALARM'] })),
        },
      }),
    );
    this.breaker = fn;
    return fn;
  }

  /** The spend circuit breaker, once `pauseIntakeOn` wired it (config `alarms.spendPerHourUsd`). */
  get circuitBreakerFunction(): nodejs.NodejsFunction | undefined {
    return this.breaker;
  }
}
