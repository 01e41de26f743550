import type { Server } from 'node:http';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { createAwsEndpoints } from '../../local/aws-endpoints';
import { closeServer, listenOnLoopback } from '../../local/http-listen';
import { jsonLog } from '../../local/local-log';
import { lambdaSubscriptionsOf, localTopicArn, matchesFilterPolicy, type PublishedMessage } from '../../local/sns-topics';
import { extractStateMachine } from '../../local/state-machine';
import { synthesize } from '../infra/synth';
import { stackFixture, testConfig } from '../support/test-config';

/** Local mode's SNS: the real SDK's Publish (Query protocol) against the loopback endpoint, and the template's subscriptions. */
describe('local SNS', () => {
  let server: Server;
  let endpoint: string;
  const published: PublishedMessage[] = [];
  beforeAll(async () => {
    server = createAwsEndpoints({
      sfn: {} as never,
      ecs: { listTasks: () => [], stopTask: async () => undefined },
      functions: new Map(),
      sns: {
        publish: async (m) => {
          published.push(m);
          return 'local-message-1';
        },
      },
      log: jsonLog(() => undefined),
    });
    endpoint = `http://127.0.0.1:${await listenOnLoopback(server, 0)}`;
  });
  afterAll(() => closeServer(server));

  test('Given the local SNS endpoint, When the SDK publishes, Then the backend gets its subject, text and string attributes and the SDK its message id', async () => {
    const sns = new SNSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const out = await sns.send(
      new PublishCommand({
        TopicArn: 'arn:aws:sns:us-east-1:000000000000:Inbox',
        Subject: 'Nightshift: run X asks',
        Message: 'line one\nline & <two>',
        MessageAttributes: {
          itemId: { DataType: 'String', StringValue: '01KC0000000000000000000001' },
          thread: { DataType: 'String', StringValue: 'acme/web#1' },
        },
      }),
    );
    expect(out.MessageId).toBe('local-message-1');
    expect(published).toEqual([
      {
        topicArn: 'arn:aws:sns:us-east-1:000000000000:Inbox',
        subject: 'Nightshift: run X asks',
        message: 'line one\nline & <two>',
        attributes: { itemId: '01KC0000000000000000000001', thread: 'acme/web#1' },
      },
    ]);
  });

  test('Given filter policies of exact strings, exists and a top-level or-list, When attributes are matched, Then they match as SNS does; anything else is refused', () => {
    expect(matchesFilterPolicy({ thread: [{ exists: true }] }, { thread: 'acme/web#1' })).toBe(true);
    expect(matchesFilterPolicy({ thread: [{ exists: true }] }, { itemId: 'x' })).toBe(false);
    expect(matchesFilterPolicy({ type: ['question', 'stuck'] }, { type: 'stuck' })).toBe(true);
    expect(matchesFilterPolicy(undefined, {})).toBe(true);
    expect(() => matchesFilterPolicy({ n: [{ numeric: ['>', 1] }] }, {})).toThrow();
    // A top-level $or: any branch, and the attributes beside it must hold too.
    const either = { $or: [{ thread: [{ exists: true }] }, { event: ['queue_moved'] }] };
    expect(matchesFilterPolicy(either, { thread: 'acme/web#1' })).toBe(true);
    expect(matchesFilterPolicy(either, { event: 'queue_moved' })).toBe(true);
    expect(matchesFilterPolicy(either, { event: 'item_created' })).toBe(false);
    expect(matchesFilterPolicy({ ...either, type: ['stuck'] }, { event: 'queue_moved' })).toBe(false);
    expect(() => matchesFilterPolicy({ $or: [{ thread: [{ exists: true }] }] }, {})).toThrow();
  });

  test("Given the synthesized stack's inbox topic, Then it delivers to the webhook function waiting items with a thread, created or resolved, and the queue's moves", () => {
    const { json } = synthesize({ config: testConfig(stackFixture), prebuiltRunnerImage: true });
    const { lambdaEntries } = extractStateMachine(json);
    const topic = localTopicArn(json, 'InboxNotifications');
    expect(topic).toMatch(/^arn:aws:sns:us-east-1:000000000000:InboxNotificationsTopic/);
    const [subscription] = lambdaSubscriptionsOf(json, lambdaEntries);
    expect(lambdaSubscriptionsOf(json, lambdaEntries)).toEqual([
      {
        topicArn: topic,
        entry: 'lambdas/github/webhook.ts',
        filterPolicy: {
          $or: [
            { thread: [{ exists: true }], type: ['question', 'budget_approval', 'plan_approval', 'risky_action', 'stuck'] },
            { event: ['queue_moved'] },
          ],
        },
      },
    ]);
    const policy = subscription!.filterPolicy;
    expect(matchesFilterPolicy(policy, { event: 'item_created', itemId: 'x', type: 'question', thread: 'acme/web#1' })).toBe(true);
    expect(matchesFilterPolicy(policy, { event: 'item_resolved', itemId: 'x', type: 'question', thread: 'acme/web#1' })).toBe(true);
    expect(matchesFilterPolicy(policy, { event: 'queue_moved' })).toBe(true);
    // A run's pr_ready/failed item is announced (e-mail) but not sent to the webhook function: its status comment tells the end.
    expect(matchesFilterPolicy(policy, { event: 'item_created', itemId: 'x', type: 'pr_ready', thread: 'acme/web#1' })).toBe(false);
    expect(matchesFilterPolicy(policy, { event: 'item_created', itemId: 'x', type: 'question' })).toBe(false);
  });
});
