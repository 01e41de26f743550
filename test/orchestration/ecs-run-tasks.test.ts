import { ECSClient, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { ecsRunTasks } from '../../lambdas/orchestrator/ecs-run-tasks';

const ecs = mockClient(ECSClient);
afterEach(() => ecs.reset());

test('Given a run with RUNNING tasks across ListTasks pages, When its tasks are stopped, Then every one of them is stopped', async () => {
  ecs
    .on(ListTasksCommand, { cluster: 'arn:cluster', startedBy: 'RUN1', desiredStatus: 'RUNNING' })
    .resolvesOnce({ taskArns: ['arn:task/1'], nextToken: 'page2' })
    .resolvesOnce({ taskArns: ['arn:task/2'] });
  ecs.on(StopTaskCommand).resolves({});
  await ecsRunTasks(new ECSClient({ region: 'us-east-1' }), 'arn:cluster').stopRunTasks('RUN1');
  expect(ecs.commandCalls(ListTasksCommand)[1]!.args[0].input).toMatchObject({ nextToken: 'page2' });
  expect(ecs.commandCalls(StopTaskCommand).map((c) => c.args[0].input)).toEqual([
    { cluster: 'arn:cluster', task: 'arn:task/1', reason: 'Nightshift run RUN1 finalized' },
    { cluster: 'arn:cluster', task: 'arn:task/2', reason: 'Nightshift run RUN1 finalized' },
  ]);
});

test('Given a run with no task left, When its tasks are stopped, Then nothing is stopped; When ECS fails, Then the failure is thrown, never swallowed', async () => {
  ecs
    .on(ListTasksCommand)
    .resolvesOnce({ taskArns: [] })
    .rejectsOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
  const port = ecsRunTasks(new ECSClient({ region: 'us-east-1' }), 'arn:cluster');
  await port.stopRunTasks('RUN1');
  expect(ecs.commandCalls(StopTaskCommand)).toHaveLength(0);
  await expect(port.stopRunTasks('RUN1')).rejects.toMatchObject({ name: 'ThrottlingException' });
});
