import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { INBOX_ATTRIBUTES, notificationText, type InboxNotification, type InboxNotifier } from '../../core/inbox/inbox-notification';

/**
 * New inbox items on the inbox topic (infra/constructs/inbox-notifications.ts): the text for e-mail
 * subscribers, the ids as message attributes for the GitHub webhook function's subscription, which
 * filters on `thread` being present.
 */
export function snsInboxNotifier(client: Pick<SNSClient, 'send'>, topicArn: string, commentCommand: string): InboxNotifier {
  return {
    async itemCreated(n: InboxNotification) {
      const { subject, message } = notificationText(n, commentCommand);
      await client.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: subject,
          Message: message,
          MessageAttributes: {
            [INBOX_ATTRIBUTES.itemId]: { DataType: 'String', StringValue: n.itemId },
            [INBOX_ATTRIBUTES.type]: { DataType: 'String', StringValue: n.type },
            ...(n.thread ? { [INBOX_ATTRIBUTES.thread]: { DataType: 'String', StringValue: n.thread } } : {}),
          },
        }),
      );
    },
  };
}
