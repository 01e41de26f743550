import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';
import { ACCOUNT, arnOf, decide, logicalIdOf, REGION, rolesOf, type Template } from './policy-simulation';

/**
 * Issue 10 items 2 and 3, proved with the IAM policy simulator on the synthesized policies: with a
 * runner's credentials (the task role every runner task shares) nothing of any run can be read or
 * written directly, not even its own; the day ledger cannot be moved; the only model is the
 * configured one; and the token broker, which checks the run key, is the one way to a run's data and
 * the one function the runner may invoke. The broker's own role reaches only what the broker does.
 */
let template: Template;
let taskRole: string;
let brokerRole: string;
let brokerArn: string;
const table = (prefix: string) => arnOf(template, logicalIdOf(template, 'AWS::DynamoDB::Table', prefix));
const tracesBucket = () => arnOf(template, logicalIdOf(template, 'AWS::S3::Bucket', 'StateTraces'));

const ownRun = '01KC0000000000000000000001';
const otherRun = '01KC0000000000000000000002';
const day = '2026-12-01';

beforeAll(() => {
  const { json, stack } = synthesize({ config: testConfig(stackFixture), prebuiltRunnerImage: true });
  template = json as unknown as Template;
  taskRole = stack.getLogicalId(stack.runtime.taskRole.node.defaultChild as never);
  brokerRole = stack.getLogicalId(stack.tokenBroker.function.role!.node.defaultChild as never);
  brokerArn = arnOf(template, stack.getLogicalId(stack.tokenBroker.function.node.defaultChild as never));
});

/** The execution role of the task definition whose container is named `container`. */
function executionRoleOf(container: string): string {
  const [definition] = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::ECS::TaskDefinition' && JSON.stringify(r.Properties).includes(`"Name":"${container}"`),
  );
  return (definition!.Properties!.ExecutionRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** Every DynamoDB data-plane action that reads or writes items. */
const itemActions = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PartiQLSelect',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

describe("a runner's credentials (the runner task role)", () => {
  test.each(['StateRuns', 'StateEvents', 'StateControl', 'StateIdempotency', 'StateInbox'])(
    "Given the %s table, Then per the policy simulator they reach no item of it or of its index, their own run's or another's",
    async (prefix) => {
      const decisions: string[] = [];
      for (const action of itemActions) {
        for (const keys of [
          [ownRun],
          [otherRun],
          [`ledger#org#${day}`],
          [`ledger#requester#arn:aws:iam::${ACCOUNT}:user/dev#${day}`],
          ['slot#global'],
          ['flag#intake'],
        ]) {
          for (const resource of [table(prefix), `${table(prefix)}/index/byStatus`, `${table(prefix)}/index/listByStatus`]) {
            const decision = await decide(template, taskRole, { action, resource, context: { 'dynamodb:LeadingKeys': keys } });
            if (decision === 'Allowed') decisions.push(`${action} ${resource} ${keys.join()}`);
          }
        }
      }
      expect(decisions).toEqual([]);
    },
  );

  test("Given the trace bucket, Then per the policy simulator they cannot read, write, overwrite or delete any trace or checkpoint object, their own run's included, nor list or reconfigure the bucket", async () => {
    const allowed: string[] = [];
    const pause = '01JDXKQ1Z8C9V5W3T2R4M6N8P0';
    for (const action of [
      's3:PutObject',
      's3:GetObject',
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:PutObjectAcl',
      's3:RestoreObject',
      's3:PutObjectTagging',
    ]) {
      for (const key of [
        `runs/${ownRun}/trace.jsonl`,
        `runs/${otherRun}/trace.jsonl`,
        `runs/${ownRun}/trace-2.jsonl`,
        `runs/${ownRun}/checkpoint-${pause}.json`,
        `runs/${otherRun}/checkpoint-${pause}.json`,
        `setup-cache/demo/sample-app/${'a'.repeat(64)}.tar.gz`,
        'anything',
      ]) {
        if ((await decide(template, taskRole, { action, resource: `${tracesBucket()}/${key}` })) === 'Allowed')
          allowed.push(`${action} ${key}`);
      }
    }
    for (const action of ['s3:ListBucket', 's3:ListBucketVersions', 's3:PutBucketPolicy', 's3:PutLifecycleConfiguration']) {
      if ((await decide(template, taskRole, { action, resource: tracesBucket() })) === 'Allowed') allowed.push(action);
    }
    expect(allowed).toEqual([]);
  });

  test("Given the stack's secrets, Then per the policy simulator they read none: repo secrets and the App key come from the broker, and only the two ECS execution roles read the proxy credential", async () => {
    for (const name of ['nightshift/gh-key', 'nightshift/npm-token']) {
      expect(
        await decide(template, taskRole, {
          action: 'secretsmanager:GetSecretValue',
          resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`,
        }),
      ).not.toBe('Allowed');
    }
    const credential = arnOf(template, logicalIdOf(template, 'AWS::SecretsManager::Secret', 'NetworkEgressProxyRunnerCredential'));
    expect(await decide(template, taskRole, { action: 'secretsmanager:GetSecretValue', resource: credential })).not.toBe('Allowed');
    // Only the two execution roles (ECS, for the squid and runner containers) read it.
    const readers: string[] = [];
    for (const role of rolesOf(template))
      if ((await decide(template, role, { action: 'secretsmanager:GetSecretValue', resource: credential })) === 'Allowed')
        readers.push(role);
    expect(readers.sort()).toEqual([executionRoleOf('runner'), executionRoleOf('squid')].sort());
  });

  test('Given every function of the stack, Then per the policy simulator they invoke the token broker and no other', async () => {
    const functions = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id]) => arnOf(template, id));
    expect(functions.length).toBeGreaterThan(5);
    const invocable: string[] = [];
    for (const fn of functions)
      if ((await decide(template, taskRole, { action: 'lambda:InvokeFunction', resource: fn })) === 'Allowed') invocable.push(fn);
    expect(invocable).toEqual([brokerArn]);
  });

  test('Given the configured model, Then per the policy simulator they call it through its inference profile only, and no other model or profile', async () => {
    const profile = `arn:aws:bedrock:${REGION}:${ACCOUNT}:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0`;
    const model = 'arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0';
    expect(await decide(template, taskRole, { action: 'bedrock:InvokeModel', resource: profile })).toBe('Allowed');
    expect(
      await decide(template, taskRole, {
        action: 'bedrock:InvokeModel',
        resource: model,
        context: { 'bedrock:InferenceProfileArn': profile },
      }),
    ).toBe('Allowed');
    // The same model outside the profile, another model, another profile.
    expect(await decide(template, taskRole, { action: 'bedrock:InvokeModel', resource: model })).not.toBe('Allowed');
    expect(
      await decide(template, taskRole, {
        action: 'bedrock:InvokeModel',
        resource: `arn:aws:bedrock:${REGION}::foundation-model/anthropic.claude-opus-4-1-20250805-v1:0`,
      }),
    ).not.toBe('Allowed');
    expect(
      await decide(template, taskRole, {
        action: 'bedrock:InvokeModel',
        resource: `arn:aws:bedrock:${REGION}:${ACCOUNT}:inference-profile/us.anthropic.claude-opus-4-1-20250805-v1:0`,
      }),
    ).not.toBe('Allowed');
  });

  test('Given the token broker, Then per the policy simulator they cannot assume or pass its role nor change its code or configuration', async () => {
    for (const [action, resource] of [
      ['sts:AssumeRole', `arn:aws:iam::${ACCOUNT}:role/${brokerRole}`],
      ['iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/${brokerRole}`],
      ['lambda:UpdateFunctionCode', brokerArn],
      ['lambda:UpdateFunctionConfiguration', brokerArn],
    ] as const) {
      expect(await decide(template, taskRole, { action, resource })).not.toBe('Allowed');
    }
  });
});

describe('who may invoke the token broker', () => {
  test('Given every role in the stack, Then per the policy simulator only the runner task role may (and it still needs a run key, test/runner/token-broker.test.ts)', async () => {
    const invokers: string[] = [];
    for (const role of rolesOf(template))
      if ((await decide(template, role, { action: 'lambda:InvokeFunction', resource: brokerArn })) === 'Allowed') invokers.push(role);
    expect(invokers).toEqual([taskRole]);
  });
});

describe("the broker's own role (the checked path)", () => {
  test('Given the control table, Then per the policy simulator it updates the day ledger items and no other control item, and reads, writes or deletes none', async () => {
    const control = table('StateControl');
    const update = (key: string) =>
      decide(template, brokerRole, { action: 'dynamodb:UpdateItem', resource: control, context: { 'dynamodb:LeadingKeys': [key] } });
    expect(await update(`ledger#org#${day}`)).toBe('Allowed');
    expect(await update(`ledger#requester#arn:aws:iam::${ACCOUNT}:user/dev#${day}`)).toBe('Allowed');
    expect(await update('slot#global')).not.toBe('Allowed');
    expect(await update('slot#repo#acme/web')).not.toBe('Allowed');
    expect(await update('flag#intake')).not.toBe('Allowed');
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan']) {
      expect(
        await decide(template, brokerRole, { action, resource: control, context: { 'dynamodb:LeadingKeys': [`ledger#org#${day}`] } }),
      ).not.toBe('Allowed');
    }
  });

  test('Given the runs and events tables, Then per the policy simulator it reads run items one by one, never lists them, writes them whole or touches their indexes, and appends events it cannot query', async () => {
    const runs = table('StateRuns');
    expect(await decide(template, brokerRole, { action: 'dynamodb:GetItem', resource: runs })).toBe('Allowed');
    for (const action of [
      'dynamodb:Scan',
      'dynamodb:Query',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PartiQLSelect',
    ]) {
      expect(await decide(template, brokerRole, { action, resource: runs })).not.toBe('Allowed');
    }
    expect(await decide(template, brokerRole, { action: 'dynamodb:Query', resource: `${runs}/index/byStatus` })).not.toBe('Allowed');
    expect(await decide(template, brokerRole, { action: 'dynamodb:Query', resource: `${runs}/index/listByStatus` })).not.toBe('Allowed');
    expect(await decide(template, brokerRole, { action: 'dynamodb:PutItem', resource: table('StateEvents') })).toBe('Allowed');
    expect(await decide(template, brokerRole, { action: 'dynamodb:Query', resource: table('StateEvents') })).not.toBe('Allowed');
  });

  test('Given the trace bucket, Then per the policy simulator it may put traces under runs/ only, and reads or deletes no trace', async () => {
    expect(await decide(template, brokerRole, { action: 's3:PutObject', resource: `${tracesBucket()}/runs/${ownRun}/trace.jsonl` })).toBe(
      'Allowed',
    );
    expect(await decide(template, brokerRole, { action: 's3:PutObject', resource: `${tracesBucket()}/elsewhere/x` })).not.toBe('Allowed');
    for (const action of ['s3:GetObject', 's3:DeleteObject'])
      expect(await decide(template, brokerRole, { action, resource: `${tracesBucket()}/runs/${ownRun}/trace.jsonl` })).not.toBe('Allowed');
  });

  test('Given the trace bucket, Then per the policy simulator it may read and write checkpoints, deletes none, and reads nothing else: no trace, nothing outside runs/', async () => {
    const checkpoint = `${tracesBucket()}/runs/${ownRun}/checkpoint-01JDXKQ1Z8C9V5W3T2R4M6N8P0.json`;
    expect(await decide(template, brokerRole, { action: 's3:GetObject', resource: checkpoint })).toBe('Allowed');
    expect(await decide(template, brokerRole, { action: 's3:PutObject', resource: checkpoint })).toBe('Allowed');
    expect(await decide(template, brokerRole, { action: 's3:DeleteObject', resource: checkpoint })).not.toBe('Allowed');
    for (const key of [`runs/${ownRun}/trace-2.jsonl`, `elsewhere/checkpoint-x.json`, `runs/${ownRun}/notes.json`])
      expect(await decide(template, brokerRole, { action: 's3:GetObject', resource: `${tracesBucket()}/${key}` })).not.toBe('Allowed');
  });

  test('Given the setup cache, Then per the policy simulator it may read and write entries under setup-cache/, deletes none, and reads no trace with that grant', async () => {
    const entry = `${tracesBucket()}/setup-cache/demo/sample-app/${'a'.repeat(64)}.tar.gz`;
    for (const action of ['s3:GetObject', 's3:PutObject'])
      expect(await decide(template, brokerRole, { action, resource: entry })).toBe('Allowed');
    expect(await decide(template, brokerRole, { action: 's3:DeleteObject', resource: entry })).not.toBe('Allowed');
    expect(
      await decide(template, brokerRole, { action: 's3:GetObject', resource: `${tracesBucket()}/runs/${ownRun}/trace.jsonl` }),
    ).not.toBe('Allowed');
  });
});
