import { arnOf, decide, identityPoliciesOf, rolesOf, type Template } from './policy-simulation';
import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';

/**
 * Issue 13 item 4: new inbox items go to an encrypted SNS topic with the configured e-mails; of every
 * role in the stack only the functions that create items (Pause, Finalize, the backstop) and, with the
 * GitHub triggers, those whose events the status comments follow (Admit's queue moves, the API's
 * resolutions: issue 11 item 6) may publish to it (per the IAM policy simulator), and they may publish
 * nowhere else; the webhook function is subscribed for the waiting items of GitHub threads and the
 * queue's moves, the e-mails for new items only.
 */
let template: Template;
let stack: ReturnType<typeof synthesize>['stack'];
let assertions: ReturnType<typeof synthesize>['template'];
let topicArn: string;
let alarmTopicArn: string;
let keyArn: string;
let pauseRole: string;
let publisherRoles: string[];
let statusEventRoles: string[];

beforeAll(() => {
  const synthesized = synthesize({
    config: testConfig(stackFixture, { notifications: { emails: ['oncall@example.com', 'lead@example.com'] } }),
    prebuiltRunnerImage: true,
  });
  ({ stack } = synthesized);
  assertions = synthesized.template;
  template = synthesized.json as unknown as Template;
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  topicArn = arnOf(template, id(stack.inboxNotifications.topic));
  alarmTopicArn = arnOf(template, id(stack.monitoring.alarmTopic));
  keyArn = arnOf(template, id(stack.inboxNotifications.key));
  pauseRole = id(stack.orchestrator.pauseFunction.role! as unknown as { node: { defaultChild?: unknown } });
  const roleOf = (fn: { role?: unknown }) => id(fn.role as { node: { defaultChild?: unknown } });
  publisherRoles = [stack.orchestrator.pauseFunction, stack.orchestrator.finalizeFunction, stack.orchestrator.backstopFunction].map(roleOf);
  statusEventRoles = [
    stack.orchestrator.admitFunction,
    stack.orchestrator.finalizeFunction,
    stack.orchestrator.backstopFunction,
    stack.api.resolveInboxItemFunction,
  ].map(roleOf);
});

// The topic, its key, its subscriptions' filter and grantPublish on their own: inbox-notifications.test.ts.
test('Given the synthesized app, Then its inbox topic has the configured e-mails told of new items only, the GitHub webhook function as its one Lambda subscriber, TLS only, and the InboxTopicArn output', () => {
  const topicId = stack.getLogicalId(stack.inboxNotifications.topic.node.defaultChild as never);
  const subscriptions = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::SNS::Subscription' && JSON.stringify(r.Properties?.TopicArn).includes(topicId),
  );
  const emails = subscriptions.filter((s) => s.Properties?.Protocol === 'email');
  expect(emails.map((s) => s.Properties?.Endpoint).sort()).toEqual(['lead@example.com', 'oncall@example.com']);
  // People are told of new items only: resolutions and queue moves are machine events.
  for (const email of emails) expect(email.Properties?.FilterPolicy).toEqual({ event: ['item_created'] });
  // The webhook function: items of runs with a GitHub thread (created or resolved), and the queue's moves.
  const lambdas = subscriptions.filter((s) => s.Properties?.Protocol === 'lambda');
  expect(lambdas).toHaveLength(1);
  expect(lambdas[0]!.Properties).toEqual(
    expect.objectContaining({
      FilterPolicy: {
        $or: [
          { thread: [{ exists: true }], type: ['question', 'budget_approval', 'plan_approval', 'risky_action', 'stuck'] },
          { event: ['queue_moved'] },
        ],
      },
      Endpoint: { 'Fn::GetAtt': [stack.getLogicalId(stack.githubWebhook!.function.node.defaultChild as never), 'Arn'] },
    }),
  );
  const topicPolicies = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::SNS::TopicPolicy' && JSON.stringify(r.Properties?.Topics).includes(topicId),
  );
  expect(JSON.stringify(topicPolicies)).toContain('"aws:SecureTransport":"false"');
  expect(JSON.stringify(synthesizedOutputs())).toContain('InboxTopicArn');
});

function synthesizedOutputs(): unknown {
  return (assertions.toJSON() as { Outputs?: unknown }).Outputs;
}

test('Given every role in the stack, Then only the Pause, Finalize and backstop functions, Admit and the resolve route may publish to the inbox topic, using its key only for that, and each is told the topic', async () => {
  expect(new Set(publisherRoles).size).toBe(3);
  expect(new Set(statusEventRoles).size).toBe(4);
  const allPublishers = [...new Set([...publisherRoles, ...statusEventRoles])];
  for (const role of allPublishers) {
    expect(await decide(template, role, { action: 'sns:Publish', resource: topicArn })).toBe('Allowed');
    // KMS needs the key policy too, which the simulator is not given: the key's use is read from the role's policy itself.
    const statements = identityPoliciesOf(template, role).flatMap(
      (p) => p.policy.Statement as { Action: string | string[]; Resource: unknown; Effect: string }[],
    );
    expect(statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')))).toEqual([
      { Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Effect: 'Allow', Resource: keyArn },
    ]);
  }
  for (const role of rolesOf(template).filter((r) => !allPublishers.includes(r))) {
    expect({ role, decision: await decide(template, role, { action: 'sns:Publish', resource: topicArn }) }).toEqual({
      role,
      decision: expect.not.stringMatching(/^Allowed$/),
    });
  }
  for (const fn of [stack.orchestrator.pauseFunction, stack.orchestrator.finalizeFunction, stack.orchestrator.backstopFunction]) {
    const env = (
      template.Resources[stack.getLogicalId(fn.node.defaultChild as never)]!.Properties as {
        Environment: { Variables: Record<string, unknown> };
      }
    ).Environment.Variables;
    expect(env.INBOX_TOPIC_ARN).toEqual({ Ref: stack.getLogicalId(stack.inboxNotifications.topic.node.defaultChild as never) });
  }
  for (const fn of [
    stack.orchestrator.admitFunction,
    stack.orchestrator.finalizeFunction,
    stack.orchestrator.backstopFunction,
    stack.api.resolveInboxItemFunction,
  ]) {
    const env = (
      template.Resources[stack.getLogicalId(fn.node.defaultChild as never)]!.Properties as {
        Environment: { Variables: Record<string, unknown> };
      }
    ).Environment.Variables;
    expect(env.STATUS_EVENTS_TOPIC_ARN).toEqual({ Ref: stack.getLogicalId(stack.inboxNotifications.topic.node.defaultChild as never) });
  }
});

test('Given a config without the GitHub triggers, When the stack is synthesized, Then nothing is told the status events topic', () => {
  const { stack: bare, json } = synthesize({
    config: testConfig(stackFixture, { github: { appId: 1, installationId: 2, privateKeySecret: 'nightshift/gh-key' } }),
    prebuiltRunnerImage: true,
  });
  expect(bare.githubWebhook).toBeUndefined();
  const resources = (json as unknown as Template).Resources;
  for (const fn of [bare.orchestrator.admitFunction, bare.api.resolveInboxItemFunction]) {
    const env = (
      resources[bare.getLogicalId(fn.node.defaultChild as never)]!.Properties as { Environment: { Variables: Record<string, unknown> } }
    ).Environment.Variables;
    expect(env).not.toHaveProperty('STATUS_EVENTS_TOPIC_ARN');
  }
});

test('Given the inbox publishers, Then per the policy simulator they publish nowhere else and manage nothing of SNS or of the key', async () => {
  for (const role of publisherRoles)
    expect(await decide(template, role, { action: 'sns:Publish', resource: alarmTopicArn })).not.toBe('Allowed');
  expect(await decide(template, pauseRole, { action: 'sns:Publish', resource: alarmTopicArn })).not.toBe('Allowed');
  expect(
    await decide(template, pauseRole, { action: 'sns:Publish', resource: 'arn:aws:sns:us-east-1:111122223333:someone-elses-topic' }),
  ).not.toBe('Allowed');
  for (const action of ['sns:Subscribe', 'sns:SetTopicAttributes', 'sns:DeleteTopic', 'sns:Unsubscribe'])
    expect(await decide(template, pauseRole, { action, resource: topicArn })).not.toBe('Allowed');
  expect(await decide(template, pauseRole, { action: 'kms:Decrypt', resource: 'arn:aws:kms:us-east-1:111122223333:key/other' })).not.toBe(
    'Allowed',
  );
  expect(await decide(template, pauseRole, { action: 'kms:CreateGrant', resource: keyArn })).not.toBe('Allowed');
});

test('Given the synthesized stack, Then per the policy simulator the webhook function may read and update inbox items, but not create, delete, scan or list them, nor publish to the topic', async () => {
  const webhookRole = stack.getLogicalId(stack.githubWebhook!.function.role!.node.defaultChild as never);
  const inbox = arnOf(template, stack.getLogicalId(stack.state.inbox.node.defaultChild as never));
  expect(await decide(template, webhookRole, { action: 'dynamodb:GetItem', resource: inbox })).toBe('Allowed');
  expect(await decide(template, webhookRole, { action: 'dynamodb:UpdateItem', resource: inbox })).toBe('Allowed');
  for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'])
    expect(await decide(template, webhookRole, { action, resource: inbox })).not.toBe('Allowed');
  expect(await decide(template, webhookRole, { action: 'dynamodb:Query', resource: `${inbox}/index/byState` })).not.toBe('Allowed');
  expect(await decide(template, webhookRole, { action: 'sns:Publish', resource: topicArn })).not.toBe('Allowed');
});
