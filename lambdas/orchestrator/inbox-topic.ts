import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import {
  INBOX_ATTRIBUTES,
  notificationText,
  type InboxEvent,
  type InboxNotification,
  type InboxNotifier,
  type QueueMovedAnnouncer,
} from '../../core/inbox/inbox-notification';

/**
 * The inbox topic (infra/constructs/inbox-notifications.ts). Every message names its `event`:
 * new items carry the text for e-mail subscribers; resolved items and queue moves are machine events,
 * which the e-mail subscriptions filter out and the GitHub webhook function's subscription takes. The
 * ids are message attributes, which the webhook function reads (it filters on `thread` being present
 * for items, on the event for queue moves).
 */
export function snsInboxNotifier(client: Pick<SNSClient, 'send'>, topicArn: string, commentCommand: string): InboxNotifier {
  return {
    async itemCreated(n: InboxNotification) {
      const { subject, message } = notificationText(n, commentCommand);
      await publish(client, topicArn, 'item_created', message, subject, itemAttributes(n));
    },
    async itemResolved(n: InboxNotification) {
      await publish(
        client,
        topicArn,
        'item_resolved',
        `inbox item ${n.itemId} of run ${n.runId} was resolved`,
        undefined,
        itemAttributes(n),
      );
    },
  };
}

/** Queue moves on the inbox topic, for the GitHub webhook function only. */
export function snsQueueMovedAnnouncer(client: Pick<SNSClient, 'send'>, topicArn: string): QueueMovedAnnouncer {
  return () => publish(client, topicArn, 'queue_moved', 'the run queue changed near its head', undefined, {});
}

function itemAttributes(n: InboxNotification): Record<string, string> {
  return {
    [INBOX_ATTRIBUTES.itemId]: n.itemId,
    [INBOX_ATTRIBUTES.type]: n.type,
    ...(n.thread ? { [INBOX_ATTRIBUTES.thread]: n.thread } : {}),
  };
}

async function publish(
  client: Pick<SNSClient, 'send'>,
  topicArn: string,
  event: InboxEvent,
  message: string,
  subject: string | undefined,
  attributes: Record<string, string>,
): Promise<void> {
  const all: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries({ [INBOX_ATTRIBUTES.event]: event, ...attributes }))
    all[name] = { DataType: 'String', StringValue: value };
  await client.send(
    new PublishCommand({ TopicArn: topicArn, Message: message, MessageAttributes: all, ...(subject ? { Subject: subject } : {}) }),
  );
}
