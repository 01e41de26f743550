import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { NightshiftConfig, ScheduleConfig } from '../../core/config/schema';
import { deadLetterQueue } from './dead-letter-queue';
import { nightshiftFunction } from './lambda-defaults';
import { acknowledgeOnPrincipal, nagArnOf } from './nag';
import type { Orchestrator } from './orchestrator';
import type { State } from './state';

/** Scheduler's own retries when it cannot deliver a tick (throttling, a missing permission), then the DLQ. */
export const SCHEDULE_RETRY = { retryAttempts: 3, maxEventAge: Duration.hours(1) } as const;
/** Lambda's retries of a tick the submit function failed on (a fault of ours, not a refusal), then the DLQ. */
export const SUBMIT_ASYNC_RETRY = { retryAttempts: 2, maxEventAge: Duration.hours(1) } as const;

export interface SchedulesProps {
  readonly config: NightshiftConfig;
  readonly state: State;
  readonly orchestrator: Orchestrator;
  readonly logRetention: logs.RetentionDays;
}

/** The construct id of a schedule: derived from its name only, so redeploys update it in place. */
export function scheduleConstructId(name: string): string {
  return `Schedule-${name}`;
}

/** An IANA zone name Scheduler accepts; checked at synth so a typo fails the deploy with the field's path. */
function timeZoneOf(entry: ScheduleConfig, index: number): TimeZone {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: entry.timezone });
  } catch {
    throw new Error(`Invalid Nightshift configuration: schedules.${index}.timezone: "${entry.timezone}" is not an IANA time zone`);
  }
  return TimeZone.of(entry.timezone);
}

/**
 * The cron schedules of the configuration: one EventBridge Scheduler schedule per entry (its cron in
 * its time zone, paused entries DISABLED) invoking one submit function with `{"schedule": name}`.
 * Every schedule is a resource with a logical id derived from its name, so changing the config and
 * redeploying updates, adds and deletes schedules through CloudFormation: none is orphaned.
 * Ticks that cannot be delivered, and ticks the function failed on after its retries, land in one
 * encrypted dead-letter queue (the monitoring alarms on it).
 */
export class Schedules extends Construct {
  readonly submitFunction: nodejs.NodejsFunction;
  readonly deadLetters: sqs.Queue;
  /** By schedule name. */
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const { config, state, orchestrator, logRetention } = props;

    this.deadLetters = deadLetterQueue(
      this,
      'DeadLetters',
      'This queue is itself the dead-letter queue of the schedules and of the schedule submit function.',
    );

    this.submitFunction = nightshiftFunction(this, 'Submit', {
      entry: 'lambdas/schedule/submit.ts',
      description: 'Submits the run of a cron schedule (EventBridge Scheduler target)',
      config,
      logRetention,
      environment: { ...state.tableEnvironment, STATE_MACHINE_ARN: orchestrator.stateMachine.stateMachineArn },
      timeout: Duration.seconds(30),
    });
    state.grantRunStore(this.submitFunction);
    // No StopExecution: a run whose execution cannot start is finalized without stopping anything.
    orchestrator.grantStartExecution(this.submitFunction);
    this.submitFunction.configureAsyncInvoke({ ...SUBMIT_ASYNC_RETRY, onFailure: new destinations.SqsDestination(this.deadLetters) });

    // One role for every schedule, assumable by Scheduler for this account only.
    const invokeRole = new iam.Role(this, 'InvokeRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'EventBridge Scheduler invoking the Nightshift schedule submit function',
    });
    acknowledgeOnPrincipal(invokeRole, {
      id: `AwsSolutions-IAM5[Resource::${nagArnOf(this.submitFunction)}:*]`,
      reason: "The target's invoke grant covers the function's versions and aliases (ARN suffix); it names one function only.",
    });

    const schedules = new Map<string, scheduler.Schedule>();
    config.schedules.forEach((entry, index) => {
      const schedule = new scheduler.Schedule(this, scheduleConstructId(entry.name), {
        description: `Nightshift schedule ${entry.name}: ${entry.repo}`.slice(0, 512),
        schedule: scheduler.ScheduleExpression.expression(`cron(${entry.cron})`, timeZoneOf(entry, index)),
        enabled: !entry.paused,
        target: new targets.LambdaInvoke(this.submitFunction, {
          // Only the name: repo and prompt are read from the deployed configuration by the function.
          input: scheduler.ScheduleTargetInput.fromObject({
            schedule: entry.name,
            scheduledTime: scheduler.ContextAttribute.scheduledTime,
            executionId: scheduler.ContextAttribute.executionId,
          }),
          role: invokeRole,
          deadLetterQueue: this.deadLetters,
          ...SCHEDULE_RETRY,
        }),
      });
      schedules.set(entry.name, schedule);
    });
    this.schedules = schedules;
  }
}
