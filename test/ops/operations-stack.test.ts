import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { NightshiftConfig } from '../../core/config/schema';
import { METRICS_NAMESPACE, metricNames } from '../../core/metrics/catalog';
import { createApp } from '../../infra/create-app';
import type { NightshiftStack } from '../../infra/stack';
import { apiFixture, testConfig } from '../support/test-config';

const runnerImage = ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:24');
const noBundling = { context: { 'aws:cdk:bundling-stacks': [] } };

const schedules = [
  { name: 'nightly-deps', cron: '0 3 * * ? *', timezone: 'Europe/Berlin', repo: 'acme/web', prompt: 'Update dependencies.' },
  {
    name: 'weekly-lint',
    cron: '30 6 ? * MON *',
    timezone: 'America/New_York',
    repo: 'acme/api',
    prompt: 'Fix lint warnings.',
    budgetUsd: 1,
  },
  { name: 'paused-chore', cron: '0 12 1 * ? *', repo: 'acme/web', prompt: 'Monthly chore.', paused: true },
];
const config = testConfig(apiFixture, {
  schedules,
  alarms: { emails: ['oncall@example.com', 'lead@example.com'], spendPerHourUsd: 25, failedRunRatio: 0.4, stuckStartingMinutes: 20 },
});

function synth(c: NightshiftConfig, nag = false): { stack: NightshiftStack; template: Template } {
  const { app, stack } = createApp({ config: c, nag, runnerImage, appProps: noBundling });
  // With cdk-nag on, synth throws on any unacknowledged finding.
  app.synth();
  return { stack, template: Template.fromStack(stack) };
}

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);
const ref = (stack: Stack, construct: { node: { defaultChild?: unknown } }) => ({ Ref: logicalId(stack, construct) });
const arn = (stack: Stack, construct: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [logicalId(stack, construct), 'Arn'] });

/** Replaces CloudFormation intrinsics in a Fn::Join'ed string with a placeholder, then parses the JSON. */
function joinedJson(value: unknown): any {
  if (typeof value === 'string') return JSON.parse(value);
  const parts = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
}

/** Every `[namespace, metricName, ...]` array in a dashboard body. */
function dashboardMetrics(body: any): { namespace: string; name: string }[] {
  const found: { namespace: string; name: string }[] = [];
  for (const widget of body.widgets) {
    for (const metric of widget.properties?.metrics ?? []) {
      if (Array.isArray(metric) && typeof metric[0] === 'string' && typeof metric[1] === 'string' && !metric[0].startsWith('...')) {
        found.push({ namespace: metric[0], name: metric[1] });
      }
    }
  }
  return found;
}

describe('operations in the stack', () => {
  let stack: NightshiftStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth(config, true));
  });

  describe('schedules', () => {
    it('Given the configured schedules, When the stack is synthesized, Then each has one schedule with its cron, time zone, target input, retry policy and dead-letter queue', () => {
      template.resourceCountIs('AWS::Scheduler::Schedule', schedules.length);
      for (const entry of schedules) {
        const schedule = stack.schedules.schedules.get(entry.name)!;
        const props = template.toJSON().Resources[logicalId(stack, schedule)].Properties;
        expect(props).toMatchObject({
          ScheduleExpression: `cron(${entry.cron})`,
          ScheduleExpressionTimezone: entry.timezone ?? 'UTC',
          State: entry.paused ? 'DISABLED' : 'ENABLED',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: {
            Arn: arn(stack, stack.schedules.submitFunction),
            DeadLetterConfig: { Arn: arn(stack, stack.schedules.deadLetters) },
            RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          },
        });
        expect(JSON.parse(props.Target.Input)).toEqual({
          schedule: entry.name,
          scheduledTime: '<aws.scheduler.scheduled-time>',
          executionId: '<aws.scheduler.execution-id>',
        });
      }
    });

    it('Given the schedule function, When it fails on a tick, Then the tick is dead-lettered in an encrypted, TLS-only queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: ref(stack, stack.schedules.submitFunction),
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: arn(stack, stack.schedules.deadLetters) } },
      });
      const queue = template.toJSON().Resources[logicalId(stack, stack.schedules.deadLetters)];
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(stack, stack.schedules.deadLetters)],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    });

    it('Given a changed config, When the stack is synthesized again, Then logical ids stay tied to schedule names, so schedules are updated instead of orphaned', () => {
      const before = new Map(schedules.map((s) => [s.name, logicalId(stack, stack.schedules.schedules.get(s.name)!)]));
      const changed = synth(
        testConfig(apiFixture, {
          schedules: [{ ...schedules[1]!, cron: '0 7 ? * TUE *' }, schedules[0]!],
          alarms: { spendPerHourUsd: 25 },
        }),
      );
      const after = changed.template.findResources('AWS::Scheduler::Schedule');
      expect(Object.keys(after).sort()).toEqual([before.get('nightly-deps'), before.get('weekly-lint')].sort());
      expect(after[before.get('weekly-lint')!]!.Properties.ScheduleExpression).toBe('cron(0 7 ? * TUE *)');
    });

    it('Given a time zone Scheduler would not know, When the stack is synthesized, Then it is refused, naming the field', () => {
      expect(() =>
        createApp({
          config: testConfig(apiFixture, { schedules: [{ ...schedules[0]!, timezone: 'Mars/Olympus' }] }),
          nag: false,
          runnerImage,
          appProps: noBundling,
        }),
      ).toThrow(/schedules\.0\.timezone/);
    });
  });

  describe('alarms', () => {
    const topic = () => ref(stack, stack.monitoring.alarmTopic);
    const alarmProps = (alarm: { node: { defaultChild?: unknown } }) => template.toJSON().Resources[logicalId(stack, alarm)].Properties;

    it('Given alarm e-mail addresses, Then every alarm notifies its own encrypted topic that mails them', () => {
      // Two topics in the stack: this one for alarms, and the inbox's for new items (docs/inbox.md).
      template.resourceCountIs('AWS::SNS::Topic', 2);
      expect(template.toJSON().Resources[logicalId(stack, stack.monitoring.alarmTopic)].Properties.KmsMasterKeyId).toBeDefined();
      for (const email of ['oncall@example.com', 'lead@example.com'])
        template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email, TopicArn: topic() });
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms.length).toBeGreaterThanOrEqual(7);
      for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topic()]);
    });

    it('Given a failed-run ratio, Then its alarm is metric math over the ended-run counters, at the configured ratio', () => {
      const props = alarmProps(stack.monitoring.alarms.failedRunRatio);
      expect(props.Threshold).toBe(0.4);
      expect(props.ComparisonOperator).toBe('GreaterThanThreshold');
      const expression = props.Metrics.find((m: any) => m.Expression).Expression as string;
      expect(expression).toMatch(/^IF\(.* >= 3, \(FILL\(runsfailed, 0\) \+ FILL\(runstimedout, 0\)\) \/ /);
      const inputs = props.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [
        m.MetricStat.Metric.Namespace,
        m.MetricStat.Metric.MetricName,
        m.MetricStat.Period,
        m.MetricStat.Stat,
      ]);
      expect(inputs).toEqual([
        ['Nightshift', 'RunsSucceeded', 3600, 'Sum'],
        ['Nightshift', 'RunsFailed', 3600, 'Sum'],
        ['Nightshift', 'RunsTimedOut', 3600, 'Sum'],
        ['Nightshift', 'RunsBudgetExceeded', 3600, 'Sum'],
      ]);
    });

    it('Given the run state machine, Then an alarm fires on its execution failures', () => {
      expect(alarmProps(stack.monitoring.alarms.stateMachineFailures)).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsFailed',
        Dimensions: [{ Name: 'StateMachineArn', Value: ref(stack, stack.orchestrator.stateMachine) }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    });

    it('Given the dead-letter queues, Then each has one alarm that fires when it is not empty', () => {
      const queues = [stack.orchestrator.backstopDeadLetters, stack.schedules.deadLetters, stack.operations.deadLetters];
      expect(stack.monitoring.alarms.deadLetters).toHaveLength(queues.length);
      queues.forEach((queue, i) => {
        expect(alarmProps(stack.monitoring.alarms.deadLetters[i]!)).toMatchObject({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, queue), 'QueueName'] } }],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      });
    });

    it('Given alarms.stuckStartingMinutes, Then an alarm fires on runs stuck in STARTING beyond it, and silence of the gauges counts as trouble', () => {
      expect(alarmProps(stack.monitoring.alarms.stuckStarting)).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: 'OldestStartingSeconds',
        Statistic: 'Maximum',
        Threshold: 20 * 60,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
      });
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [Match.objectLike({ Arn: arn(stack, stack.operations.runGaugesFunction) })],
      });
    });

    it('Given alarms.spendPerHourUsd, Then an alarm fires on spend per hour above it and trips the circuit breaker, which reads and sets only the intake flag', () => {
      const spend = stack.monitoring.alarms.spendPerHour!;
      const props = alarmProps(spend);
      expect(props.Threshold).toBe(25);
      expect(props.Metrics.find((m: any) => m.Expression).Expression).toBe('(FILL(model, 0) + FILL(compute, 0)) / 1000000');
      expect(props.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.MetricStat.Metric.MetricName, m.MetricStat.Period])).toEqual(
        [
          ['ModelCostMicroUsd', 3600],
          ['ComputeCostMicroUsd', 3600],
        ],
      );
      const breaker = stack.operations.circuitBreakerFunction!;
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'lambda',
        TopicArn: topic(),
        Endpoint: arn(stack, breaker),
        FilterPolicyScope: 'MessageBody',
        FilterPolicy: { AlarmName: [ref(stack, spend)], NewStateValue: ['ALARM'] },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ SPEND_ALARM_NAME: ref(stack, spend) }) },
      });
      // The breaker reads and sets the intake flag item, and nothing else of the store.
      const role = ref(stack, breaker.role!);
      const statements = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([role]))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: unknown; Resource: unknown }[])
        .filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          Resource: arn(stack, stack.state.control),
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['flag#intake'] } },
        },
      ]);
    });

    it('Given no spend rate configured, Then the stack has no spend alarm and no breaker', () => {
      const { stack: plain } = synth(testConfig(apiFixture));
      expect(plain.monitoring.alarms.spendPerHour).toBeUndefined();
      expect(plain.operations.circuitBreakerFunction).toBeUndefined();
    });
  });

  describe('dashboard', () => {
    const body = () => joinedJson(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);

    it('Given the dashboard and the alarms, Then they reference only metric names from the catalog in the Nightshift namespace', () => {
      const nightshift = dashboardMetrics(body()).filter((m) => m.namespace === METRICS_NAMESPACE);
      expect(nightshift.length).toBeGreaterThan(20);
      for (const { name } of nightshift) expect(metricNames).toContain(name);
      for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
        const metrics = [alarm.Properties, ...(alarm.Properties.Metrics ?? []).map((m: any) => m.MetricStat?.Metric ?? {})];
        for (const metric of metrics) if (metric.Namespace === METRICS_NAMESPACE) expect(metricNames).toContain(metric.MetricName);
      }
    });

    it('Given the dashboard, Then it shows the run figures and the platform health figures', () => {
      const shown = new Set(dashboardMetrics(body()).map((m) => `${m.namespace}/${m.name}`));
      const wanted = [
        ...['RunsSubmitted', 'RunsStarted', 'RunsSucceeded', 'RunsFailed', 'RunsTimedOut', 'RunsCancelled', 'RunsBudgetExceeded'],
        ...[
          'QueueWaitSeconds',
          'RunDurationSeconds',
          'ModelInputTokens',
          'ModelOutputTokens',
          'ModelCacheReadTokens',
          'ModelCacheWriteTokens',
        ],
        ...['PullRequestsOpened', 'ToolCalls', 'EgressBlocked', 'SubmissionsRefused', 'OldestStartingSeconds', 'IntakePaused'],
        ...['PullRequestsMerged', 'PullRequestsClosedUnmerged', 'PullRequestTimeToMergeSeconds', 'MergedPullRequestCostMicroUsd'],
      ].map((n) => `Nightshift/${n}`);
      const health = [
        'AWS/Lambda/Errors',
        'AWS/Lambda/Throttles',
        'AWS/States/ExecutionsFailed',
        'AWS/States/ExecutionsAborted',
        'ECS/ContainerInsights/RunningTaskCount',
        'AWS/SQS/ApproximateNumberOfMessagesVisible',
        'AWS/Bedrock/InvocationThrottles',
      ];
      for (const metric of [...wanted, ...health]) expect(shown).toContain(metric);
      // Cost is charted through metric math (micro-USD to USD).
      const expressions = JSON.stringify(body());
      expect(expressions).toContain('ModelCostMicroUsd');
      expect(expressions).toContain('ComputeCostMicroUsd');
    });

    it('Given the dashboard, Then it charts errors and throttles of every Lambda function of the stack', () => {
      const functions = Object.keys(template.findResources('AWS::Lambda::Function')).length;
      const errors = dashboardMetrics(body()).filter((m) => m.namespace === 'AWS/Lambda' && m.name === 'Errors');
      expect(errors.length).toBeGreaterThanOrEqual(functions - 2);
    });
  });

  it('Given the stack, Then GET and POST /v1/admin/intake are routed with IAM authorization to the intake handler', () => {
    for (const method of ['GET', 'POST'])
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `${method} /v1/admin/intake`, AuthorizationType: 'AWS_IAM' });
  });
});
