import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { encryptedTopic } from './encrypted-topic';
import type { NightshiftConfig } from '../../core/config/schema';
import { INBOX_ATTRIBUTES, PEOPLE_EVENTS, type InboxEvent } from '../../core/inbox/inbox-notification';
import { PauseReason } from '../../core/inbox/pause-report';

export interface InboxNotificationsProps {
  readonly config: NightshiftConfig;
}

/**
 * The inbox topic (docs/inbox.md#notifications): each new inbox item is published once, by the
 * function that creates it (Pause; Finalize or the backstop for a run's pr_ready/failed item), as a
 * short message with no agent-written text. With the GitHub triggers, two machine events for the
 * webhook function's status comments too (docs/github-app.md#progress-on-github): an item resolved
 * through the API, and a move of the run queue. Subscribers: the e-mails of config
 * `notifications.emails` (new items only), and the GitHub webhook function (items of runs that came
 * from GitHub, which it posts on the issue or pull request, and the machine events). Encrypted with a
 * key of its own, TLS only.
 */
export class InboxNotifications extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: InboxNotificationsProps) {
    super(scope, id);
    const { topic, key } = encryptedTopic(this, 'Topic', {
      displayName: 'Nightshift inbox',
      keyDescription: 'Encrypts the Nightshift inbox topic',
      emails: props.config.notifications.emails,
      emailFilterPolicy: { [INBOX_ATTRIBUTES.event]: sns.SubscriptionFilter.stringFilter({ allowlist: [...PEOPLE_EVENTS] }) },
    });
    this.topic = topic;
    this.key = key;
  }

  /** A publisher of new items: `sns:Publish` on this topic (and the key's data-key use it needs), nothing else; the topic ARN in its environment. */
  grantPublish(fn: lambda.Function): void {
    this.grantPublishOnly(fn);
    fn.addEnvironment('INBOX_TOPIC_ARN', this.topic.topicArn);
  }

  /**
   * A publisher of the status comments' machine events (items resolved through the API, queue moves):
   * the same publish grant, the topic ARN as STATUS_EVENTS_TOPIC_ARN. Given only where the webhook
   * function listens, so a stack without the GitHub triggers publishes none.
   */
  grantStatusEvents(fn: lambda.Function): void {
    this.grantPublishOnly(fn);
    fn.addEnvironment('STATUS_EVENTS_TOPIC_ARN', this.topic.topicArn);
  }

  private grantPublishOnly(fn: lambda.Function): void {
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn] });
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resourceArns: [this.key.keyArn] });
  }

  /**
   * To `fn`, the webhook function: items that wait for a human (a pause reason) of runs with a GitHub
   * thread (the `thread` attribute present), created or resolved, which it posts on the thread or
   * follows in the status comment; and the queue's moves. A run's `pr_ready` and `failed` items are not
   * sent: its status comment tells how it ended. One subscription per endpoint, so the two kinds are
   * an `$or` of the filter policy (which the CDK's attribute filters cannot spell).
   */
  deliverThreadItemsTo(fn: lambda.IFunction): void {
    const subscription = this.topic.addSubscription(new subscriptions.LambdaSubscription(fn));
    const queueMoved: InboxEvent = 'queue_moved';
    (subscription.node.defaultChild as sns.CfnSubscription).filterPolicy = {
      $or: [
        { [INBOX_ATTRIBUTES.thread]: [{ exists: true }], [INBOX_ATTRIBUTES.type]: [...PauseReason.options] },
        { [INBOX_ATTRIBUTES.event]: [queueMoved] },
      ],
    };
  }
}
