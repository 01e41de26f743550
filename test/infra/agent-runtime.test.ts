import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AgentRuntime } from '../../infra/constructs/agent-runtime';
import { Network } from '../../infra/constructs/network';
import { State } from '../../infra/constructs/state';
import { RUNNER_STOP_TIMEOUT_SECONDS } from '../../core/runs/stop-grace';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * The AgentRuntime construct with what it is built on (Network, State) on a stack of its own; what
 * the rest of the app adds to the runner (its environment, its grants) is checked on the whole app in
 * stack.test.ts and the IAM tests.
 */
let template: Template;

beforeAll(() => {
  const config = testConfig(stackFixture);
  const stack = new Stack(new App(), 'AgentRuntimeOnly');
  const network = new Network(stack, 'Network', { maxAzs: config.network.maxAzs, logRetention: logs.RetentionDays.ONE_MONTH, config });
  const state = new State(stack, 'State', { traceRetentionDays: 30 });
  new AgentRuntime(stack, 'AgentRuntime', { config, network, state, logRetention: logs.RetentionDays.ONE_MONTH });
  template = Template.fromStack(stack);
});

type Resource = { Properties?: Record<string, unknown> };
const runnerTaskDefinition = (): Resource =>
  Object.values(template.findResources('AWS::ECS::TaskDefinition') as Record<string, Resource>).find((r) =>
    JSON.stringify(r.Properties).includes('"Name":"runner"'),
  )!;

test('Given the synthesized stack, Then the cluster has Container Insights and both Fargate capacity providers', () => {
  template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
    CapacityProviders: Match.arrayWith(['FARGATE', 'FARGATE_SPOT']),
  });
});

test('Given the synthesized stack, Then the runner container has a read-only root, an init process, the stop timeout it is told, dropped capabilities, its mounts and its one secret, and logs to a group with retention', () => {
  const taskDefinition = runnerTaskDefinition();
  const container = (taskDefinition.Properties!.ContainerDefinitions as Record<string, unknown>[])[0]!;
  expect(container).toMatchObject({
    Name: 'runner',
    ReadonlyRootFilesystem: true,
    Memory: 4096,
    LinuxParameters: { InitProcessEnabled: true },
  });
  // One grace for ECS and the runner: the task definition's stop timeout is what the runner is told it has.
  expect(container.StopTimeout).toBe(RUNNER_STOP_TIMEOUT_SECONDS);
  expect(container.Environment).toEqual(
    expect.arrayContaining([{ Name: 'NIGHTSHIFT_STOP_TIMEOUT_SECONDS', Value: String(RUNNER_STOP_TIMEOUT_SECONDS) }]),
  );
  expect((container.LinuxParameters as { Capabilities: { Drop: string[] } }).Capabilities.Drop).toEqual(
    expect.arrayContaining(['NET_RAW', 'MKNOD', 'SYS_CHROOT', 'SETFCAP']),
  );
  expect(container.LogConfiguration).toMatchObject({ LogDriver: 'awslogs' });
  expect((container.MountPoints as { ContainerPath: string }[]).map((m) => m.ContainerPath).sort()).toEqual([
    '/home',
    '/tmp',
    '/workspace',
  ]);
  expect((container.Environment as { Name: string }[]).map((e) => e.Name)).toEqual(
    expect.arrayContaining(['TRACES_BUCKET', 'NIGHTSHIFT_CONFIG_JSON']),
  );
  expect(container.Secrets).toEqual([{ Name: 'NIGHTSHIFT_PROXY_PASSWORD', ValueFrom: { Ref: expect.stringMatching(/RunnerCredential/) } }]);
  expect(taskDefinition.Properties).toMatchObject({ RequiresCompatibilities: ['FARGATE'], NetworkMode: 'awsvpc' });
  // The runner's own log group, with the retention it was given.
  const group = (container.LogConfiguration as { Options: Record<string, { Ref: string }> }).Options['awslogs-group']!.Ref;
  expect((template.findResources('AWS::Logs::LogGroup')[group] as Resource).Properties).toMatchObject({ RetentionInDays: 30 });
});

test('Given the synthesized stack, Then the runner image is a container asset built from runner/Dockerfile at deploy, not at synth', () => {
  expect(JSON.stringify(runnerTaskDefinition().Properties)).toContain('cdk-hnb659fds-container-assets');
});
