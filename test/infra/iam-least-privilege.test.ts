import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { runRoutes } from '../../infra/constructs/api';
import { synthesize, type Synthesized } from './synth';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * What each role may do, read from the synthesized template: the statements of every policy attached
 * to the role of a Lambda (by its handler module) or of the runner task.
 */
type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: Record<string, unknown> };
type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

const resources = () => (synth.json.Resources ?? {}) as Record<string, Resource>;

function roleOfFunction(entry: string): string {
  const matches = Object.values(resources()).filter(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['nightshift:entry'] === entry,
  );
  if (matches.length !== 1) throw new Error(`expected one function for ${entry}, found ${matches.length}`);
  return (matches[0]!.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

function runnerTaskRole(): string {
  const [runner] = Object.values(resources()).filter(
    (r) => r.Type === 'AWS::ECS::TaskDefinition' && JSON.stringify(r.Properties).includes('"Name":"runner"'),
  );
  return (runner!.Properties!.TaskRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

function statementsOf(roleId: string): Statement[] {
  return Object.values(resources())
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties!.Roles).includes(`"${roleId}"`))
    .flatMap((r) => (r.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (roleId: string) => new Set(statementsOf(roleId).flatMap((s) => [s.Action].flat()));

describe('states:StopExecution', () => {
  test('Given the synthesized stack, Then only the cancel handler may stop executions, not submit (which never stops what did not start) nor the schedule', () => {
    expect(actionsOf(roleOfFunction('lambdas/api/cancel-run.ts'))).toContain('states:StopExecution');
    expect(actionsOf(roleOfFunction('lambdas/api/submit-run.ts'))).not.toContain('states:StopExecution');
    expect(actionsOf(roleOfFunction('lambdas/schedule/submit.ts'))).not.toContain('states:StopExecution');
  });
});

describe('the slot reconciler and queue sweep (run gauges)', () => {
  test('Given the synthesized stack, Then they may update only the semaphore items and the queue entries of the control table', () => {
    const role = roleOfFunction('lambdas/ops/run-gauges.ts');
    const updates = statementsOf(role).filter((s) => [s.Action].flat().includes('dynamodb:UpdateItem'));
    expect(updates).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:UpdateItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['slot#global', 'slot#repo#*', 'slot#requester#*'] } },
      }),
      // Taking a waiting run's token to wake it (adapters/dynamodb/run-queue.ts claim).
      expect.objectContaining({
        Action: 'dynamodb:UpdateItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['queue#*'] } },
      }),
    ]);
    for (const update of updates) expect(JSON.stringify(update.Resource)).toContain('Control');
  });
});

describe('the read-only run routes', () => {
  test('Given the synthesized stack, Then no GET route of the runs API may write, update or delete an item of any table', () => {
    for (const route of runRoutes.filter((r) => r.method === apigw.HttpMethod.GET)) {
      const writes = statementsOf(roleOfFunction(route.entry)).filter((s) =>
        [s.Action]
          .flat()
          .some((a) =>
            ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:*'].includes(a),
          ),
      );
      expect({ route: route.id, writes }).toEqual({ route: route.id, writes: [] });
    }
  });
});

describe('the run list (GET /v1/runs)', () => {
  test('Given the synthesized stack, Then the list function queries the eight list indexes and batch-gets items of the runs table only, and nothing else by batch', () => {
    const role = roleOfFunction('lambdas/api/list-runs.ts');
    const statements = statementsOf(role);
    const batchGets = statements.filter((s) => [s.Action].flat().includes('dynamodb:BatchGetItem'));
    expect(batchGets).toHaveLength(1);
    expect([batchGets[0]!.Action].flat()).toEqual(['dynamodb:BatchGetItem']);
    expect(JSON.stringify(batchGets[0]!.Resource)).toContain('StateRuns');
    expect(JSON.stringify(batchGets[0]!.Resource)).not.toMatch(/StateEvents|StateControl|StateInbox|index/);
    const queried = JSON.stringify(statements.filter((s) => [s.Action].flat().includes('dynamodb:Query')).map((s) => s.Resource));
    for (const index of [
      'listAll',
      'listByStatus',
      'listByRepo',
      'listByRequester',
      'listByRepoStatus',
      'listByRequesterStatus',
      'listByRequesterRepo',
      'listByRequesterRepoStatus',
    ])
      expect(queried).toContain(`/index/${index}"`);
    expect(queried).not.toContain('/index/*');
    expect(queried).not.toMatch(/\/index\/by(Kind|Requester|Repo|Status)/);
  });

  test('Given the synthesized stack, Then no other API route gets BatchGetItem', () => {
    for (const entry of ['lambdas/api/get-run.ts', 'lambdas/api/submit-run.ts', 'lambdas/api/cancel-run.ts']) {
      expect(statementsOf(roleOfFunction(entry)).some((s) => [s.Action].flat().includes('dynamodb:BatchGetItem'))).toBe(false);
    }
  });
});

describe('the run gauges', () => {
  test('Given the synthesized stack, Then they read runs only by status (the listByStatus index, then BatchGetItem) and by id, the events of a run, the intake flag and semaphores, the queue index and the thread items of held runs: no Scan, no other index or item', () => {
    const role = roleOfFunction('lambdas/ops/run-gauges.ts');
    const reads = statementsOf(role).filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:UpdateItem'));
    const actions = new Set(reads.flatMap((s) => [s.Action].flat()));
    expect([...actions].sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query']);
    const resources = JSON.stringify(reads.map((s) => s.Resource));
    expect(resources).not.toContain('/index/*');
    expect(resources).not.toMatch(/\/index\/(by(Kind|Requester|Repo|Status)|listBy(Repo|Requester)|listAll)/);
    expect(resources).toContain('/index/listByStatus');
    const batchGets = reads.filter((s) => [s.Action].flat().includes('dynamodb:BatchGetItem'));
    expect(batchGets).toHaveLength(1);
    expect(JSON.stringify(batchGets[0]!.Resource)).toContain('StateRuns');
    expect(JSON.stringify(batchGets[0]!.Resource)).not.toMatch(/StateEvents|StateControl|StateInbox|index/);
    const control = reads.filter((s) => JSON.stringify(s.Resource).includes('StateControl'));
    expect(control).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:GetItem',
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['flag#intake', 'slot#global', 'slot#repo#*', 'slot#requester#*'] },
        },
      }),
      expect.objectContaining({ Action: 'dynamodb:Query' }),
      // The sweep's check of held runs: the thread items (this stack has the GitHub triggers and no review backlog).
      expect.objectContaining({
        Action: 'dynamodb:GetItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['thread#*'] } },
      }),
    ]);
    expect(JSON.stringify(control[1]!.Resource)).toContain('/index/byQueue');
    expect(reads.some((s) => JSON.stringify(s.Resource).includes('StateIdempotency'))).toBe(false);
  });
});

describe('waking queued runs (states:SendTaskSuccess)', () => {
  test('Given the synthesized stack, Then Admit, Finalize, Pause, the backstop and the queue sweep may, on the run state machine only, and the automatic resume and the API run routes may not', () => {
    const wakers = [
      'lambdas/orchestrator/admit.ts',
      'lambdas/orchestrator/finalize.ts',
      'lambdas/orchestrator/pause.ts',
      'lambdas/orchestrator/backstop.ts',
      'lambdas/ops/run-gauges.ts',
    ];
    for (const entry of wakers) {
      const sends = statementsOf(roleOfFunction(entry)).filter((s) => [s.Action].flat().includes('states:SendTaskSuccess'));
      expect(sends).toEqual([
        expect.objectContaining({
          Action: 'states:SendTaskSuccess',
          Resource: { Ref: expect.stringMatching(/^OrchestratorRunStateMachine/) },
        }),
      ]);
    }
    for (const entry of [
      'lambdas/orchestrator/automatic-resume.ts',
      'lambdas/api/submit-run.ts',
      'lambdas/api/get-run.ts',
      'lambdas/api/cancel-run.ts',
    ]) {
      expect(actionsOf(roleOfFunction(entry))).not.toContain('states:SendTaskSuccess');
    }
  });

  test('Given the synthesized stack, Then Finalize deletes queue entries on queue#… keys only and the queue sweep deletes nothing', () => {
    const deletes = statementsOf(roleOfFunction('lambdas/orchestrator/finalize.ts')).filter((s) =>
      [s.Action].flat().includes('dynamodb:DeleteItem'),
    );
    expect(deletes).toEqual([
      expect.objectContaining({ Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['queue#*'] } } }),
    ]);
    expect(actionsOf(roleOfFunction('lambdas/ops/run-gauges.ts'))).not.toContain('dynamodb:DeleteItem');
  });
});

/** Table logical ids appear in resources as Fn::GetAtt / Fn::Join references; this finds which table a statement names. */
const tablesIn = (resource: unknown) =>
  ['StateRuns', 'StateEvents', 'StateControl', 'StateIdempotency'].filter((t) => JSON.stringify(resource).includes(`"${t}`));
const dynamoStatements = (roleId: string) => statementsOf(roleId).filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));

describe('the runner task role', () => {
  test('Given the synthesized stack, Then it has no DynamoDB and no S3 grant: its run data goes through the token broker (test/infra/run-isolation-iam.test.ts)', () => {
    expect(dynamoStatements(runnerTaskRole())).toEqual([]);
    expect(statementsOf(runnerTaskRole()).filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')))).toEqual([]);
  });
});

describe('the token broker', () => {
  test('Given the synthesized stack, Then it reads and updates runs, appends events and moves only the ledger day items of the control table, and has no other DynamoDB grant', () => {
    const statements = dynamoStatements(roleOfFunction('lambdas/token-broker.ts'));
    const grants = statements.map((s) => ({
      actions: [s.Action].flat().sort(),
      tables: tablesIn(s.Resource),
      condition: s.Condition ?? null,
      indexes: JSON.stringify(s.Resource).includes('/index/'),
    }));
    expect(grants).toEqual(
      expect.arrayContaining([
        { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], tables: ['StateRuns'], condition: null, indexes: false },
        { actions: ['dynamodb:PutItem'], tables: ['StateEvents'], condition: null, indexes: false },
        {
          actions: ['dynamodb:UpdateItem'],
          tables: ['StateControl'],
          condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ledger#org#*', 'ledger#requester#*#*'] } },
          indexes: false,
        },
      ]),
    );
    expect(grants).toHaveLength(3);
  });
});

describe('Bedrock for the runner', () => {
  const bedrock = () => statementsOf(runnerTaskRole()).filter((s) => [s.Action].flat().some((a) => a.startsWith('bedrock:')));

  test('Given a model behind an inference profile, Then the runner may call the profile in this region, and its foundation model in the profile geography only through that profile', () => {
    const statements = bedrock();
    expect(statements).toHaveLength(2);
    const [profile, model] = [
      statements.find((s) => JSON.stringify(s.Resource).includes('inference-profile/'))!,
      statements.find((s) => JSON.stringify(s.Resource).includes('foundation-model/'))!,
    ];
    expect(JSON.stringify(profile.Resource)).toContain(':inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(JSON.stringify(profile.Resource)).toContain('{"Ref":"AWS::Region"}');
    expect(profile.Condition).toBeUndefined();
    expect(JSON.stringify(model.Resource)).toContain(':bedrock:us-*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(JSON.stringify(model.Resource)).not.toContain(':bedrock:*:');
    const condition = JSON.stringify(model.Condition);
    expect(condition).toContain('"StringEquals":{"bedrock:InferenceProfileArn"');
    expect(condition).toContain('inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0');
  });

  test('Given a plain model id, Then the runner may call only that model, in this region', () => {
    const plain = synthesize({
      config: testConfig(stackFixture, { model: { ...testConfig(stackFixture).model, id: 'anthropic.claude-3-haiku-20240307-v1:0' } }),
      prebuiltRunnerImage: true,
    });
    const saved = synth;
    synth = plain;
    try {
      const statements = bedrock();
      expect(statements).toHaveLength(1);
      expect(statements[0]!.Resource).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':bedrock:',
            { Ref: 'AWS::Region' },
            '::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
          ],
        ],
      });
    } finally {
      synth = saved;
    }
  });
});

describe('the intake switch (AdminIntake)', () => {
  test('Given the synthesized stack, Then it reads and writes only the intake flag item of the control table', () => {
    const statements = dynamoStatements(roleOfFunction('lambdas/ops/intake.ts'));
    expect(statements).toHaveLength(1);
    expect([statements[0]!.Action].flat().sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(tablesIn(statements[0]!.Resource)).toEqual(['StateControl']);
    expect(statements[0]!.Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['flag#intake'] } });
  });
});
