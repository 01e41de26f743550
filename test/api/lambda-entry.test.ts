import './quiet-powertools';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { setRuntimeConfig } from '../../core/config/runtime';
import { handler as getRun } from '../../lambdas/api/get-run';
import { handler as submitRun } from '../../lambdas/api/submit-run';
import { executionArn } from '../../lambdas/api/step-functions';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';
import { apiEvent, bodyOf, stateMachineArn } from './api-harness';
import { apiFixture, testConfig } from '../support/test-config';

describe('the Lambda entry points', () => {
  let db: DynaliteHarness;
  const sfn = mockClient(SFNClient);
  const saved = { ...process.env };

  beforeAll(async () => {
    db = await startDynalite();
    Object.assign(process.env, {
      RUNS_TABLE: db.names.runs,
      EVENTS_TABLE: db.names.events,
      CONTROL_TABLE: db.names.control,
      IDEMPOTENCY_TABLE: db.names.idempotency,
      INBOX_TABLE: db.names.inbox,
      STATE_MACHINE_ARN: stateMachineArn,
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_REGION: 'us-east-1',
      NIGHTSHIFT_CONFIG_JSON: JSON.stringify(testConfig(apiFixture)),
    });
    setRuntimeConfig(undefined);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });
  });
  afterAll(async () => {
    sfn.restore();
    process.env = saved;
    setRuntimeConfig(undefined);
    await db.stop();
  });

  it('build their clients from the environment and serve a submit and a read', async () => {
    const submitted = await submitRun(apiEvent({ body: { repo: 'acme/web', prompt: 'p' }, headers: { 'idempotency-key': 'entry-1' } }));
    expect(submitted.statusCode).toBe(202);
    const runId = bodyOf(submitted).runId as string;
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toMatchObject({ stateMachineArn, name: runId });

    const read = await getRun(apiEvent({ runId }));
    expect(read.statusCode).toBe(200);
    expect(bodyOf(read)).toMatchObject({ runId, status: 'QUEUED' });
  });
});

describe('executionArn', () => {
  it('names the execution by run id under the state machine', () => {
    expect(executionArn('arn:aws:states:eu-west-1:123456789012:stateMachine:runs', '01J00000000000000000000000')).toBe('arn:aws:states:eu-west-1:123456789012:execution:runs:01J00000000000000000000000');
    expect(() => executionArn('arn:aws:lambda:eu-west-1:123456789012:function:x', 'r')).toThrow(/not a state machine ARN/);
  });
});
