import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';
import { arnOf, decide, identityPoliciesOf, type Template } from './policy-simulation';

/**
 * Issue 13 item 3: the task-stopped function fails a lost runner's waiting task and can do nothing
 * else: no success or heartbeat on anyone's behalf, no table, no task, no other function.
 */
let template: Template;
let role: string;
let stateMachineArn: string;

beforeAll(() => {
  const { json, stack } = synthesize({ config: testConfig(stackFixture), prebuiltRunnerImage: true });
  template = json as unknown as Template;
  role = stack.getLogicalId(stack.orchestrator.taskStoppedFunction.role!.node.defaultChild as never);
  stateMachineArn = arnOf(template, stack.getLogicalId(stack.orchestrator.stateMachine.node.defaultChild as never));
});

test('Given the synthesized stack, Then the task-stopped function may send task failures to the run state machine, and nothing else of Step Functions', async () => {
  // The simulator treats SendTask* as having no resource type ("must use wildcard"), so the grant is read
  // from the policy itself; docs/operations.md says how to check it in a real account, as for the runner.
  const statements = identityPoliciesOf(template, role).flatMap(
    (p) => p.policy.Statement as { Action: string | string[]; Resource: unknown }[],
  );
  const states = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('states:')));
  expect(states).toEqual([expect.objectContaining({ Action: 'states:SendTaskFailure', Effect: 'Allow', Resource: stateMachineArn })]);
  for (const action of ['states:SendTaskSuccess', 'states:SendTaskHeartbeat', 'states:SendTaskFailure']) {
    expect(await decide(template, role, { action, resource: '*' })).not.toBe('Allowed');
  }
  expect(await decide(template, role, { action: 'states:StartExecution', resource: stateMachineArn })).not.toBe('Allowed');
  const execution = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:01KC0000000000000000000001`;
  for (const action of ['states:StopExecution', 'states:DescribeExecution'])
    expect(await decide(template, role, { action, resource: execution })).not.toBe('Allowed');
});

test("Given the synthesized stack, Then per the policy simulator the task-stopped function describes this cluster's tasks only (a stopped task's overrides), and no other cluster's", async () => {
  const [cluster] = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === 'AWS::ECS::Cluster' && id.startsWith('AgentRuntime'))
    .map(([id]) => arnOf(template, id));
  const task = `${cluster!.replace(':cluster/', ':task/')}/0123456789abcdef`;
  expect(await decide(template, role, { action: 'ecs:DescribeTasks', resource: task, context: { 'ecs:cluster': cluster! } })).toBe(
    'Allowed',
  );
  const otherCluster = `arn:aws:ecs:us-east-1:111122223333:cluster/other`;
  expect(
    await decide(template, role, {
      action: 'ecs:DescribeTasks',
      resource: `${otherCluster.replace(':cluster/', ':task/')}/0123456789abcdef`,
      context: { 'ecs:cluster': otherCluster },
    }),
  ).not.toBe('Allowed');
});

test('Given the synthesized stack, Then per the policy simulator the task-stopped function reaches no table, changes no task and invokes no function', async () => {
  const of = (type: string) =>
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => arnOf(template, id));
  for (const table of of('AWS::DynamoDB::Table')) {
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'])
      expect(await decide(template, role, { action, resource: table })).not.toBe('Allowed');
  }
  for (const fn of of('AWS::Lambda::Function'))
    expect(await decide(template, role, { action: 'lambda:InvokeFunction', resource: fn })).not.toBe('Allowed');
  for (const cluster of of('AWS::ECS::Cluster')) {
    const task = `${cluster.replace(':cluster/', ':task/')}/abc`;
    for (const action of ['ecs:StopTask', 'ecs:TagResource'])
      expect(await decide(template, role, { action, resource: task, context: { 'ecs:cluster': cluster } })).not.toBe('Allowed');
  }
});
