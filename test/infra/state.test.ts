import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { State } from '../../infra/constructs/state';

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

test('five DynamoDB tables (runs, events, control, idempotency, inbox): on demand, point-in-time recovery, deletion protection, retained', () => {
  const tables = ofType('AWS::DynamoDB::Table');
  expect(tables).toHaveLength(5);
  for (const table of tables) {
    expect(table.Properties).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  }
  template.hasResourceProperties('AWS::DynamoDB::Table', {
    KeySchema: [{ AttributeName: 'runId', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: Match.arrayWith([
      Match.objectLike({ IndexName: 'listByStatus', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'runId', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }),
    ]),
  });
  template.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true } });
});

test('the trace bucket is encrypted, private, TLS-only, logged and expires traces after traceRetentionDays', () => {
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
