import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { State } from '../../infra/constructs/state';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * The State construct on a stack of its own (the stack's wiring of it is in stack.test.ts): every table
 * and bucket of Nightshift is here, so what holds for these holds for the app.
 */
let template: Template;

beforeAll(() => {
  const stack = new Stack(new App(), 'StateOnly');
  new State(stack, 'State', { traceRetentionDays: 7 });
  template = Template.fromStack(stack);
});

type Resource = { Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
const ofType = (type: string) => Object.values(template.findResources(type)) as Resource[];

test('Given the State construct, Then it makes five DynamoDB tables (runs, events, control, idempotency, inbox), each on demand with point-in-time recovery and deletion protection, retained', () => {
  const tables = ofType('AWS::DynamoDB::Table');
  expect(tables).toHaveLength(5);
  for (const table of tables) {
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  }
  template.hasResourceProperties('AWS::DynamoDB::Table', {
    KeySchema: [{ AttributeName: 'runId', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: Match.arrayWith([
      Match.objectLike({
        IndexName: 'listByStatus',
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'runId', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      }),
    ]),
  });
  template.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true } });
});

test('Given the State construct, Then the trace bucket is encrypted, private, TLS-only, logged and expires traces after traceRetentionDays, and its log bucket is TLS-only too', () => {
  template.hasResourceProperties('AWS::S3::Bucket', {
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })]) },
    LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'traces/' }),
  });
  // The trace bucket and its access-log bucket both refuse plain HTTP.
  const policies = ofType('AWS::S3::BucketPolicy');
  expect(policies).toHaveLength(2);
  for (const policy of policies) expect(JSON.stringify(policy.Properties)).toContain('"aws:SecureTransport":"false"');
});

describe('grantQueueHoldReads: the queue sweep reads only the holds a deployment can have', () => {
  /** The DynamoDB statements and environment the grant gives a stand-in function. */
  function granted(holds: { threads: boolean; reviewBacklog: boolean }) {
    const stack = new Stack(new App(), 'HoldReads');
    const state = new State(stack, 'State', { traceRetentionDays: 7 });
    const fn = new lambda.Function(stack, 'Sweep', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    state.grantQueueHoldReads(fn, holds);
    const t = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
    const statements = Object.values(t.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: unknown }[]);
    const fnProps = Object.values(t.Resources).find((r) => r.Type === 'AWS::Lambda::Function')!.Properties;
    return { statements, env: Object.keys(fnProps.Environment?.Variables ?? {}) };
  }

  test('Given the GitHub triggers and a review backlog, When the grant is made, Then it is GetItem on thread and review-places items only, the inbox backlog reads, and INBOX_TABLE', () => {
    const { statements, env } = granted({ threads: true, reviewBacklog: true });
    expect(statements).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:GetItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['thread#*', 'review-places#*'] } },
      }),
      expect.objectContaining({ Action: 'dynamodb:Query', Resource: expect.anything() }),
      expect.objectContaining({ Action: 'dynamodb:GetItem', Resource: expect.anything() }),
    ]);
    expect(JSON.stringify(statements[1])).toContain('/index/byRequester');
    expect(env).toEqual(['INBOX_TABLE']);
  });

  test('Given threads only, When the grant is made, Then it is the thread items and no inbox; Given neither, Then it is nothing at all', () => {
    const threads = granted({ threads: true, reviewBacklog: false });
    expect(threads.statements).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:GetItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['thread#*'] } },
      }),
    ]);
    expect(threads.env).toEqual([]);
    const none = granted({ threads: false, reviewBacklog: false });
    expect(none.statements).toEqual([]);
    expect(none.env).toEqual([]);
  });
});
