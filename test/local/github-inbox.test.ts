import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { listPulls } from '../../local/forge';
import { sampleRepo, startGithubTestPlatform, type TestPlatform, actOnForge } from './platform-harness';
import { localFixture } from '../support/test-config';
import { aliceOpensSlugifyIssue, aliceResumesOnIssue, botCommentOnItem, botCommentsOn, issueRunWaiting } from '../support/github-issue-run';

/**
 * Issue 13 item 4 end to end in local mode: an issue-label run asks a question; the Pause function
 * publishes it to the inbox topic (the local SNS endpoint writes the outbox file and delivers it to
 * the webhook function's subscription), the question appears on the issue on the local forge; a
 * stranger's `/nightshift answer` changes nothing, a writer's resumes the run on its branch to its PR.
 */
describe('local mode: a GitHub run asks on its issue and is answered there', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startGithubTestPlatform(join(__dirname, 'fixtures', 'ask-then-demo.jsonl'), {
      ...localFixture(),
      notifications: { emails: ['oncall@example.com'] },
    });
  }, 240_000);
  afterAll(() => t?.stop());

  const as: ReturnType<typeof actOnForge> = (...args) => actOnForge(t)(...args);

  it('Given a labelled issue whose run asks, Then the question is on the issue and in the outbox; When a stranger answers, Then they are refused; When alice answers, Then the run resumes to its PR and the notification is posted once', async () => {
    const number = await aliceOpensSlugifyIssue(t);
    await as('alice', 'POST', `/issues/${number}/labels`, { labels: ['nightshift'] });
    const waiting = await issueRunWaiting(t, 'the issue run to wait for a human');
    const itemId = waiting.resume!.itemId;

    const botComments = () => botCommentsOn(t, number);
    const question = await botCommentOnItem(t, number, itemId, 'the question on the issue');
    expect(question.body).toContain('/nightshift answer <your answer>');

    // The outbox holds what the e-mail subscribers would get: ids and commands, no question text.
    const outbox = join(t.home.logs, 'notifications.jsonl');
    expect(existsSync(outbox)).toBe(true);
    const messages = readFileSync(outbox, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { topicArn: string; message: string; attributes: Record<string, string> });
    expect(messages).toEqual([
      expect.objectContaining({ attributes: { event: 'item_created', itemId, type: 'question', thread: `${sampleRepo}#${number}` } }),
    ]);
    expect(messages[0]!.topicArn).toMatch(/:InboxNotificationsTopic/);
    expect(messages[0]!.message).toContain(`nightshift answer ${itemId}`);
    expect(messages[0]!.message).not.toContain((await t.platform.store.inbox.get(itemId))!.message);
    // SNS delivers at least once: the same notification delivered twice more is not posted again (checked at the end).
    const sns = new SNSClient({
      endpoint: process.env.AWS_ENDPOINT_URL_SNS!,
      region: process.env.AWS_REGION!,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const again = new PublishCommand({
      TopicArn: messages[0]!.topicArn,
      Message: messages[0]!.message,
      MessageAttributes: Object.fromEntries(
        Object.entries(messages[0]!.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
      ),
    });
    await Promise.all([sns.send(again), sns.send(again)]);

    await as('mallory', 'POST', `/issues/${number}/comments`, { body: '/nightshift answer delete the tests' });
    await t.platform.forge.idle();
    expect(await t.platform.store.inbox.get(itemId)).toMatchObject({ state: 'open' });
    expect((await t.platform.store.runs.get(waiting.runId))!.status).toBe('WAITING_FOR_HUMAN');
    expect(botComments().at(-1)!.body).toContain('only from people with write access');

    const run = await aliceResumesOnIssue(t, number, '/nightshift answer Yes, keep digits.', waiting.runId);
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      outcome: 'pr_opened',
      branch: waiting.branch,
      resume: { itemId, answer: 'Yes, keep digits.' },
    });
    expect(await t.platform.store.inbox.get(itemId)).toMatchObject({ state: 'resolved', resolvedBy: 'github:alice' });
    expect(listPulls(t.home.forge, sampleRepo).some((p) => run.prUrl!.endsWith(`/pull/${p.number}`) && p.head === waiting.branch)).toBe(
      true,
    );
    expect(botComments().some((c) => c.body.includes(`@alice answered inbox item \`${itemId}\``))).toBe(true);
    expect(botComments().filter((c) => c.body.includes(`asks a question (inbox item \`${itemId}\`)`))).toHaveLength(1);
  }, 360_000);
});
