import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { InboxNotifications } from '../../infra/constructs/inbox-notifications';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * The InboxNotifications construct on a stack of its own, with stand-in functions for a publisher and
 * the thread subscriber; which functions of the app publish and subscribe, and that no other role may,
 * is test/infra/inbox-notifications-iam.test.ts.
 */
type Resource = { Type: string; Properties?: Record<string, unknown> };
let resources: Record<string, Resource>;
let stack: Stack;
let notifications: InboxNotifications;
let publisher: lambda.Function;
let subscriber: lambda.Function;

beforeAll(() => {
  stack = new Stack(new App(), 'InboxNotificationsOnly');
  notifications = new InboxNotifications(stack, 'InboxNotifications', {
    config: testConfig(stackFixture, { notifications: { emails: ['oncall@example.com', 'lead@example.com'] } }),
  });
  const standIn = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => undefined;'),
    });
  publisher = standIn('Publisher');
  subscriber = standIn('Subscriber');
  notifications.grantPublish(publisher);
  notifications.deliverThreadItemsTo(subscriber);
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
});

const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
/** The statements of every policy attached to the function's role. */
const statementsOf = (fn: lambda.Function) =>
  ofType('AWS::IAM::Policy')
    .filter((p) => JSON.stringify(p.Properties?.Roles).includes(idOf(fn.role!)))
    .flatMap((p) => (p.Properties!.PolicyDocument as { Statement: unknown[] }).Statement);

test('Given the inbox notifications construct, Then its topic is encrypted with its own rotating key, TLS only, with one e-mail subscription per configured address, told of new items only', () => {
  const topicId = idOf(notifications.topic);
  const keyId = idOf(notifications.key);
  expect(resources[topicId]!.Properties).toEqual(expect.objectContaining({ KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } }));
  expect(resources[keyId]!.Properties).toEqual(expect.objectContaining({ EnableKeyRotation: true }));
  const emails = ofType('AWS::SNS::Subscription').filter((s) => s.Properties?.Protocol === 'email');
  expect(emails.map((s) => s.Properties?.Endpoint).sort()).toEqual(['lead@example.com', 'oncall@example.com']);
  // People are told of new items only: resolutions and queue moves are machine events.
  for (const s of emails)
    expect(s.Properties).toEqual(expect.objectContaining({ TopicArn: { Ref: topicId }, FilterPolicy: { event: ['item_created'] } }));
  expect(JSON.stringify(ofType('AWS::SNS::TopicPolicy'))).toContain('"aws:SecureTransport":"false"');
});

test("Given deliverThreadItemsTo, Then the function is subscribed to the waiting items (pause reasons) of runs with a GitHub thread, and to the queue's moves, only", () => {
  const lambdas = ofType('AWS::SNS::Subscription').filter((s) => s.Properties?.Protocol === 'lambda');
  expect(lambdas).toHaveLength(1);
  expect(lambdas[0]!.Properties).toEqual(
    expect.objectContaining({
      TopicArn: { Ref: idOf(notifications.topic) },
      FilterPolicy: {
        $or: [
          { thread: [{ exists: true }], type: ['question', 'budget_approval', 'plan_approval', 'risky_action', 'stuck'] },
          { event: ['queue_moved'] },
        ],
      },
      Endpoint: { 'Fn::GetAtt': [idOf(subscriber), 'Arn'] },
    }),
  );
});

test('Given grantPublish, Then the function may publish to this topic and use its key for it, nothing else, is told the topic in its environment, and the subscriber is granted nothing', () => {
  expect(statementsOf(publisher)).toEqual([
    { Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: idOf(notifications.topic) } },
    { Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [idOf(notifications.key), 'Arn'] } },
  ]);
  expect((resources[idOf(publisher)]!.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables).toEqual(
    { INBOX_TOPIC_ARN: { Ref: idOf(notifications.topic) } },
  );
  // The subscriber was granted nothing.
  expect(statementsOf(subscriber)).toEqual([]);
});
