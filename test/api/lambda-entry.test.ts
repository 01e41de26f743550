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

  it('Given the Lambda environment, When the entry points build their clients from it, Then they serve a submit, which starts its execution named by the run id, and a read', async () => {
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
  it("Given a state machine ARN and a run id, When the execution ARN is made, Then it names the execution by run id under the state machine; When the ARN is not a state machine's, Then it is refused", () => {
    expect(executionArn('arn:aws:states:eu-west-1:123456789012:stateMachine:runs', '01J00000000000000000000000')).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:runs:01J00000000000000000000000',
    );
    expect(() => executionArn('arn:aws:lambda:eu-west-1:123456789012:function:x', 'r')).toThrow(/not a state machine ARN/);
  });
});
