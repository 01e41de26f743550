import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Validations } from 'aws-cdk-lib';
import { App } from 'aws-cdk-lib';
import { NightshiftStack } from '../../infra/stack';
import { BACKSTOP_STATUSES, QUEUE_RECHECK_SECONDS, RunStates } from '../../infra/constructs/orchestrator';
import { runRoutes } from '../../infra/constructs/api';
import { extractStateMachine } from '../../local/state-machine';
import { synthesize, type Synthesized } from './synth';
import { stackFixture, testConfig } from '../support/test-config';

let synth: Synthesized;
let template: Template;

beforeAll(() => {
  synth = synthesize();
  template = synth.template;
});

type Resources = Record<
  string,
  {
    Type: string;
    Properties?: Record<string, unknown>;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
    Metadata?: Record<string, unknown>;
  }
>;
const resources = () => (synth.json.Resources ?? {}) as Resources;
const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);

function definitionOf(): Record<string, Record<string, unknown>> {
  return extractStateMachine(synth.json).definition.States as Record<string, Record<string, unknown>>;
}

describe('state', () => {
  // What the State construct makes of its props: test/infra/state.test.ts.
  test('Given the synthesized app, Then the trace bucket expires traces after 30 days (docs/architecture.md)', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })]) },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'traces/' }),
    });
  });
});

describe('agent runtime', () => {
  // The cluster, the runner container and its image as the construct makes them: test/infra/agent-runtime.test.ts.
  test('Given the synthesized app, Then the runner container names no table and no secret in plain sight, its one secret is the proxy credential, and every log group has a retention', () => {
    const [, taskDefinition] = ofType('AWS::ECS::TaskDefinition').find(([, r]) =>
      JSON.stringify(r.Properties).includes('"Name":"runner"'),
    )!;
    const container = (taskDefinition.Properties!.ContainerDefinitions as Record<string, unknown>[])[0]!;
    const environment = (container.Environment as { Name: string }[]).map((e) => e.Name);
    // No table names (the runner reaches no table), and no secret in plain sight.
    for (const name of ['RUNS_TABLE', 'EVENTS_TABLE', 'CONTROL_TABLE', 'TASK_TOKEN', 'RUN_KEY', 'NIGHTSHIFT_PROXY_PASSWORD'])
      expect(environment).not.toContain(name);
    expect(container.Secrets).toEqual([
      { Name: 'NIGHTSHIFT_PROXY_PASSWORD', ValueFrom: { Ref: expect.stringMatching(/RunnerCredential/) } },
    ]);
    for (const [, group] of ofType('AWS::Logs::LogGroup')) expect(group.Properties?.RetentionInDays).toBeGreaterThan(0);
  });
});

describe('orchestrator', () => {
  test('Given the synthesized app, Then the run state machine is Standard JSONPath, logs every event but no execution data, and is traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
      TracingConfiguration: { Enabled: true },
    });
  });

  test("Given the synthesized app, Then the runner runs with a task token, StartedBy = run id and clocks from the execution input, queued runs wait on Admit's token with no Wait state, and every path reaches Finalize", () => {
    const states = definitionOf();
    const runRunner = states[RunStates.runRunner]!;
    expect(runRunner.Resource).toMatch(/:states:::ecs:runTask\.waitForTaskToken$/);
    expect(runRunner).toMatchObject({
      TimeoutSecondsPath: '$.timeoutSeconds',
      HeartbeatSecondsPath: '$.heartbeatSeconds',
      // Admit picks the capacity: the execution's, or regular Fargate once automatic resumes moved the run.
      Parameters: {
        'StartedBy.$': '$.runId',
        CapacityProviderStrategy: [{ 'CapacityProvider.$': '$.admission.capacityProvider', Weight: 1 }],
      },
      // A lost task may resume from the run's last checkpoint; anything else is Finalize's.
      Catch: [
        { ErrorEquals: ['Nightshift.RunnerLost'], ResultPath: '$.failure', Next: RunStates.resumeWithoutHuman },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: RunStates.finalize },
      ],
      Next: RunStates.paused,
    });
    expect(states[RunStates.admit]!.Parameters).toMatchObject({ Payload: { 'capacityProvider.$': '$.capacityProvider' } });
    // A pause for a human waits on the inbox's task token for answerSeconds, then goes back through Admit;
    // an interruption resumes without a human; anything else is Finalize's.
    expect(states[RunStates.paused]).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.result.pause', IsPresent: true, Next: RunStates.pauseKind }],
      Default: RunStates.finalize,
    });
    expect(states[RunStates.pauseKind]).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.result.pause.reason', StringEquals: 'interrupted', Next: RunStates.resumeWithoutHuman }],
      Default: RunStates.waitForHuman,
    });
    expect(states[RunStates.resumeWithoutHuman]).toMatchObject({
      ResultPath: '$.automaticResume',
      Next: RunStates.resume,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.resumeFailure', Next: RunStates.finalize }],
    });
    const wait = states[RunStates.waitForHuman]!;
    expect(wait.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(wait).toMatchObject({
      TimeoutSecondsPath: '$.answerSeconds',
      Next: RunStates.resume,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.pauseFailure', Next: RunStates.finalize }],
    });
    expect(JSON.stringify(wait.Parameters)).toContain('"token.$":"$$.Task.Token"');
    expect(states[RunStates.resume]).toMatchObject({
      Type: 'Pass',
      Parameters: { 'execution.$': '$$.Execution.Input' },
      OutputPath: '$.execution',
      Next: RunStates.admit,
    });
    expect(JSON.stringify(runRunner.Parameters)).toContain('"Value.$":"$$.Task.Token"');
    expect(JSON.stringify(runRunner.Parameters)).toContain('{"Name":"RUN_KEY","Value.$":"$.admission.runKey"}');
    // A queued run waits on Admit's own token (no Wait-state loop); a re-check timeout asks again.
    const admit = states[RunStates.admit]!;
    expect(admit.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(JSON.stringify(admit.Parameters)).toContain('"token.$":"$$.Task.Token"');
    expect(admit).toMatchObject({
      TimeoutSeconds: QUEUE_RECHECK_SECONDS,
      Retry: [{ ErrorEquals: ['States.TaskFailed'] }],
      Catch: [
        { ErrorEquals: ['States.Timeout'], Next: RunStates.admit },
        { ErrorEquals: ['States.ALL'], Next: RunStates.finalize },
      ],
    });
    expect((admit.Catch as { ResultPath?: unknown }[])[0]!.ResultPath).toBeNull();
    expect(states[RunStates.admitted]).toMatchObject({
      Choices: [
        { StringEquals: 'admitted', Next: RunStates.runRunner },
        { StringEquals: 'woken', Next: RunStates.admit },
      ],
      Default: RunStates.finalize,
    });
    expect(Object.values(states).filter((state) => state.Type === 'Wait')).toEqual([]);
    expect(states[RunStates.finalize]).toMatchObject({
      Next: RunStates.done,
      Catch: [{ ErrorEquals: ['States.ALL'], Next: RunStates.finalizeFailed }],
    });
  });

  test('Given the synthesized app, Then the backstop rule sends FAILED, TIMED_OUT and ABORTED executions of this state machine to the backstop, with a dead-letter queue and retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: [...BACKSTOP_STATUSES], stateMachineArn: [Match.anyValue()] },
      },
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: Match.anyValue() })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: Match.anyValue() },
    });
  });

  test('Given the synthesized app, Then every Lambda function runs Node.js 24 on arm64 with JSON logs, and the config is inlined, not in the environment', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([, r]) => r.Metadata?.['nightshift:entry']);
    expect(functions.length).toBeGreaterThanOrEqual(8);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
      });
      expect(JSON.stringify(fn.Properties?.Environment ?? {})).not.toContain('NIGHTSHIFT_CONFIG_JSON');
    }
  });
});

describe('api', () => {
  test('Given the synthesized app, Then every run route is IAM-authorized by default and the stage is throttled and access-logged', () => {
    for (const route of runRoutes)
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        AuthorizationType: 'AWS_IAM',
      });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  test('Given the synthesized app, Then it outputs the API URL, the state machine ARN and the table names', () => {
    const outputs = Object.keys((synth.json.Outputs ?? {}) as object);
    expect(outputs).toEqual(
      expect.arrayContaining(['ApiUrl', 'StateMachineArn', 'RunsTableName', 'EventsTableName', 'ControlTableName', 'IdempotencyTableName']),
    );
  });

  test('Given auth "jwt", When the stack is synthesized, Then a JWT authorizer with the configured issuer and audience is on every run route', () => {
    // Bundling skipped: this checks the API's shape only.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const config = testConfig(stackFixture, { auth: { type: 'jwt', issuer: 'https://idp.example.com', audience: ['nightshift'] } });
    const stack = new NightshiftStack(app, 'Jwt', { config });
    const { Template } = jest.requireActual<typeof import('aws-cdk-lib/assertions')>('aws-cdk-lib/assertions');
    const jwt = Template.fromStack(stack);
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://idp.example.com', Audience: ['nightshift'] },
    });
    for (const route of runRoutes)
      jwt.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `${route.method} ${route.path}`, AuthorizationType: 'JWT' });
  });
});

describe('cdk-nag AwsSolutions', () => {
  test('Given the synthesized app, Then cdk-nag finds zero unacknowledged findings', () => {
    const report = new AwsSolutionsChecks().validateScope(synth.stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('Given the synthesized app, Then every acknowledgement names a specific reason', () => {
    const acknowledgements = synth.stack.node
      .findAll()
      .flatMap((c) =>
        c.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
      );
    expect(acknowledgements.length).toBeGreaterThan(0);
    // A specific reason says why this finding is acceptable here: a sentence, not "ok" or "suppressed".
    const vague = acknowledgements.filter((a) => a.reason.trim().length < 40 || /^(ok|n\/a|suppressed|todo|fine)\b/i.test(a.reason.trim()));
    expect(vague).toEqual([]);
  });
});

/**
 * `*` resources allowed, each because the API has no resource-level permissions. Any other `*`
 * resource, and any `*` action, fails.
 */
const wildcardResourceActions: Record<string, string> = {
  'ecs:ListTasks': 'no resource-level permissions; pinned to the runner cluster by the ecs:cluster condition',
  'ecr:GetAuthorizationToken': 'ECR registry authentication is account-wide; image pulls are scoped to the repository',
  'xray:PutTraceSegments': 'X-Ray has no resource-level permissions',
  'xray:PutTelemetryRecords': 'X-Ray has no resource-level permissions',
  'xray:GetSamplingRules': 'X-Ray has no resource-level permissions',
  'xray:GetSamplingTargets': 'X-Ray has no resource-level permissions',
  'logs:CreateLogDelivery': 'CloudWatch Logs vended delivery (state machine logging) has no resource-level permissions',
  'logs:GetLogDelivery': 'CloudWatch Logs vended delivery has no resource-level permissions',
  'logs:UpdateLogDelivery': 'CloudWatch Logs vended delivery has no resource-level permissions',
  'logs:DeleteLogDelivery': 'CloudWatch Logs vended delivery has no resource-level permissions',
  'logs:ListLogDeliveries': 'CloudWatch Logs vended delivery has no resource-level permissions',
  'logs:PutResourcePolicy': 'CloudWatch Logs resource policies are account-wide (vended delivery)',
  'logs:DescribeResourcePolicies': 'CloudWatch Logs resource policies are account-wide (vended delivery)',
  'logs:DescribeLogGroups': 'listing log groups has no resource-level permissions',
  'ec2:DescribePrefixLists': 'EC2 Describe* calls have no resource-level permissions (the network looks up the S3 prefix list)',
  'cloudwatch:PutMetricData': 'PutMetricData has no resource-level permissions (restricted by the cloudwatch:namespace condition)',
};

describe('IAM', () => {
  const statements = () =>
    ofType('AWS::IAM::Policy').flatMap(([id, policy]) =>
      (
        (policy.Properties!.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Effect: string }[] })
          .Statement ?? []
      ).map((s) => ({ id, ...s })),
    );

  test('Given the synthesized app, Then no action is a wildcard', () => {
    for (const s of statements()) {
      for (const action of [s.Action].flat())
        expect({ policy: s.id, action, wildcard: action === '*' || action.endsWith(':*') }).toEqual({
          policy: s.id,
          action,
          wildcard: false,
        });
    }
  });

  test('Given the synthesized app, Then a "*" resource is only for APIs without resource-level permissions', () => {
    const unjustified = statements()
      .filter((s) => [s.Resource].flat().includes('*'))
      .flatMap((s) => [s.Action].flat().map((action) => `${s.id}: ${action}`))
      .filter((entry) => !(entry.slice(entry.indexOf(': ') + 2) in wildcardResourceActions));
    expect(unjustified).toEqual([]);
  });

  test("Given the synthesized app, Then only the token broker reads repo secrets (it hands a run its own repo's), and the runner task role reads no secret", () => {
    const ref = (construct: { node: { defaultChild?: unknown } }) => ({
      Ref: synth.stack.getLogicalId(construct.node.defaultChild as never),
    });
    const secretReaders = (role: { Ref: string }) =>
      ofType('AWS::IAM::Policy')
        .filter(([, p]) => JSON.stringify(p.Properties!.Roles) === JSON.stringify([role]))
        .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
        .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .map((s) => JSON.stringify(s.Resource));
    expect(secretReaders(ref(synth.stack.runtime.taskRole))).toEqual([]);
    const broker = secretReaders(ref(synth.stack.tokenBroker.function.role!));
    expect(broker.some((r) => r.includes('secret:nightshift/npm-token-??????'))).toBe(true);
    expect(broker.some((r) => r.includes('secret:nightshift/gh-key-??????'))).toBe(true);
  });
});
