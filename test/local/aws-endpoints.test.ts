import type { Server } from 'node:http';
import { DescribeServicesCommand, ECSClient, ListTasksCommand, StopTaskCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskDoesNotExist,
} from '@aws-sdk/client-sfn';
import { createAwsEndpoints, SfnApiError, type LocalFunction, type SfnBackend } from '../../local/aws-endpoints';
import { closeServer, listenOnLoopback } from '../../local/http-listen';
import { jsonLog } from '../../local/local-log';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A task-token registry of the kind the executor keeps: known tokens get the calls, others are TaskDoesNotExist. */
class RecordingBackend implements SfnBackend {
  readonly calls: unknown[][] = [];
  readonly tokens = new Set(['token-1']);
  private check(token: string) {
    if (!this.tokens.has(token)) throw new SfnApiError('TaskDoesNotExist', `task ${token.slice(0, 8)} does not exist`);
  }
  async sendTaskSuccess(token: string, output: string) {
    this.check(token);
    this.calls.push(['success', token, output]);
  }
  async sendTaskFailure(token: string, error?: string, cause?: string) {
    this.check(token);
    this.calls.push(['failure', token, error, cause]);
  }
  async sendTaskHeartbeat(token: string) {
    this.check(token);
    this.calls.push(['heartbeat', token]);
  }
  async startExecution(arn: string, name: string | undefined, input: string) {
    this.calls.push(['start', arn, name, input]);
    return { executionArn: `${arn.replace(':stateMachine:', ':execution:')}:${name}`, startDate: new Date('2025-01-01T00:00:00Z') };
  }
  async stopExecution(arn: string, error?: string, cause?: string) {
    this.calls.push(['stop', arn, error, cause]);
    return { stopDate: new Date('2025-01-01T00:01:00Z') };
  }
}

describe('local AWS endpoints', () => {
  let server: Server;
  let endpoint: string;
  const backend = new RecordingBackend();
  const stopped: string[] = [];
  const ecs = {
    listTasks: (startedBy: string | undefined) => (startedBy === 'RUN1' ? ['arn:aws:ecs:us-east-1:000000000000:task/local/RUN1-1'] : []),
    stopTask: async (taskArn: string) => {
      stopped.push(taskArn);
    },
  };
  const functions = new Map<string, LocalFunction>([
    ['token-broker', async (payload) => ({ echoed: payload })],
    [
      'failing',
      async () => {
        throw new TypeError('broker refused');
      },
    ],
  ]);

  beforeAll(async () => {
    server = createAwsEndpoints({ sfn: backend, ecs, functions, log: jsonLog(() => undefined) });
    endpoint = `http://127.0.0.1:${await listenOnLoopback(server, 0)}`;
  });
  afterAll(() => closeServer(server));

  const sfn = () => new SFNClient({ endpoint, region: 'us-east-1', credentials });
  const lambda = () => new LambdaClient({ endpoint, region: 'us-east-1', credentials });

  it('Given the local Step Functions endpoint, When the SDK sends task heartbeat, success and failure, Then each reaches the backend', async () => {
    await sfn().send(new SendTaskHeartbeatCommand({ taskToken: 'token-1' }));
    await sfn().send(new SendTaskSuccessCommand({ taskToken: 'token-1', output: '{"outcome":"pr_opened"}' }));
    await sfn().send(new SendTaskFailureCommand({ taskToken: 'token-1', error: 'Nightshift.RunFailed', cause: 'tests broke' }));
    expect(backend.calls).toEqual([
      ['heartbeat', 'token-1'],
      ['success', 'token-1', '{"outcome":"pr_opened"}'],
      ['failure', 'token-1', 'Nightshift.RunFailed', 'tests broke'],
    ]);
  });

  it('Given an unknown token, When the SDK sends a heartbeat, Then it fails with the SDK error TaskDoesNotExist', async () => {
    await expect(sfn().send(new SendTaskHeartbeatCommand({ taskToken: 'forged' }))).rejects.toBeInstanceOf(TaskDoesNotExist);
  });

  it('Given output that is not JSON, When the SDK sends task success, Then it is refused as InvalidOutput', async () => {
    await expect(sfn().send(new SendTaskSuccessCommand({ taskToken: 'token-1', output: 'not json' }))).rejects.toMatchObject({
      name: 'InvalidOutput',
    });
  });

  it('Given the local Step Functions endpoint, When the SDK starts and stops an execution, Then it gets the execution ARN and the dates it expects', async () => {
    const started = await sfn().send(
      new StartExecutionCommand({
        stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:local',
        name: 'RUN',
        input: '{"a":1}',
      }),
    );
    expect(started.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:local:RUN');
    expect(started.startDate).toEqual(new Date('2025-01-01T00:00:00Z'));
    const stopped = await sfn().send(
      new StopExecutionCommand({ executionArn: started.executionArn!, error: 'Nightshift.Cancelled', cause: 'user' }),
    );
    expect(stopped.stopDate).toEqual(new Date('2025-01-01T00:01:00Z'));
  });

  it("Given a runner task, When the orchestrator lists and stops tasks through the ECS API, Then only that run's task is listed and it is stopped", async () => {
    const client = new ECSClient({ endpoint, region: 'us-east-1', credentials });
    const listed = await client.send(new ListTasksCommand({ cluster: 'local', startedBy: 'RUN1', desiredStatus: 'RUNNING' }));
    expect(listed.taskArns).toEqual(['arn:aws:ecs:us-east-1:000000000000:task/local/RUN1-1']);
    expect((await client.send(new ListTasksCommand({ cluster: 'local', startedBy: 'OTHER' }))).taskArns).toEqual([]);
    await client.send(new StopTaskCommand({ cluster: 'local', task: listed.taskArns![0]!, reason: 'finalized' }));
    expect(stopped).toEqual(['arn:aws:ecs:us-east-1:000000000000:task/local/RUN1-1']);
  });

  it('Given requests no SDK would send, When they reach the endpoint, Then each is refused with the error ECS or Step Functions would give, and no backend is called', async () => {
    const post = (target: string, body: string) =>
      fetch(endpoint, { method: 'POST', headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' }, body }).then(
        async (res) => ({ status: res.status, type: ((await res.json()) as { __type: string }).__type }),
      );
    const callsBefore = backend.calls.length;
    // Names every object has (its prototype's) are no operation.
    for (const operation of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(await post(`AWSStepFunctions.${operation}`, '{}')).toEqual({ status: 400, type: 'UnknownOperationException' });
      expect(await post(`AmazonEC2ContainerServiceV20141113.${operation}`, '{}')).toEqual({
        status: 400,
        type: 'UnknownOperationException',
      });
    }
    expect(await post('AWSStepFunctions.SendTaskHeartbeat', '{not json')).toEqual({ status: 400, type: 'SerializationException' });
    expect(await post('AmazonEC2ContainerServiceV20141113.StopTask', '{not json')).toEqual({ status: 400, type: 'SerializationException' });
    expect(await post('AmazonEC2ContainerServiceV20141113.StopTask', '{"task":""}')).toEqual({
      status: 400,
      type: 'InvalidParameterException',
    });
    // Without an on-demand proxy there is no service to describe or scale.
    const client = new ECSClient({ endpoint, region: 'us-east-1', credentials });
    expect(await client.send(new DescribeServicesCommand({ cluster: 'local', services: ['egress-proxy'] }))).toMatchObject({
      services: [],
      failures: [{ arn: 'egress-proxy', reason: 'MISSING' }],
    });
    await expect(
      client.send(new UpdateServiceCommand({ cluster: 'local', service: 'egress-proxy', desiredCount: 1 })),
    ).rejects.toMatchObject({
      name: 'ServiceNotFoundException',
    });
    expect(backend.calls.length).toBe(callsBefore);
    expect(stopped).toEqual(['arn:aws:ecs:us-east-1:000000000000:task/local/RUN1-1']);
  });

  it('Given in-process functions, When they are invoked by name or ARN, Then they answer; a thrown error is a function error and an unknown function ResourceNotFoundException', async () => {
    const ok = await lambda().send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:token-broker',
        Payload: Buffer.from('{"runId":"R"}'),
      }),
    );
    expect(ok.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(ok.Payload!).toString())).toEqual({ echoed: { runId: 'R' } });
    const failed = await lambda().send(new InvokeCommand({ FunctionName: 'failing', Payload: Buffer.from('{}') }));
    expect(failed.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(failed.Payload!).toString())).toEqual({ errorType: 'TypeError', errorMessage: 'broker refused' });
    await expect(lambda().send(new InvokeCommand({ FunctionName: 'missing', Payload: Buffer.from('{}') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});
