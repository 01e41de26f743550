import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { encryptedTopic } from './encrypted-topic';
import type { NightshiftConfig } from '../../core/config/schema';
import { INBOX_ATTRIBUTES } from '../../core/inbox/inbox-notification';
import { PauseReason } from '../../core/inbox/pause-report';

export interface InboxNotificationsProps {
  readonly config: NightshiftConfig;
}

/**
 * The inbox topic (docs/inbox.md#notifications): each new inbox item is published once, by the
 * function that creates it (Pause; Finalize or the backstop for a run's pr_ready/failed item), as a short message with no agent-written text. Subscribers: the e-mails of config
 * `notifications.emails`, and the GitHub webhook function for items of runs that came from GitHub
 * (it posts the question on the issue or pull request). Encrypted with a key of its own, TLS only.
 */
export class InboxNotifications extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: InboxNotificationsProps) {
    super(scope, id);
    const { topic, key } = encryptedTopic(this, 'Topic', { displayName: 'Nightshift inbox', keyDescription: 'Encrypts the Nightshift inbox topic', emails: props.config.notifications.emails });
    this.topic = topic;
    this.key = key;
  }

  /** A publisher: `sns:Publish` on this topic (and the key's data-key use it needs), nothing else; the topic ARN in its environment. */
  grantPublish(fn: lambda.Function): void {
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn] });
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resourceArns: [this.key.keyArn] });
    fn.addEnvironment('INBOX_TOPIC_ARN', this.topic.topicArn);
  }

  /**
   * Items that wait for a human (a pause reason) of runs with a GitHub thread (the `thread` attribute
   * present) to `fn`: the webhook function, which posts them on the thread. A run's `pr_ready` and
   * `failed` items are not sent: its status comment tells how it ended.
   */
  deliverThreadItemsTo(fn: lambda.IFunction): void {
    this.topic.addSubscription(
      new subscriptions.LambdaSubscription(fn, {
        filterPolicy: { [INBOX_ATTRIBUTES.thread]: sns.SubscriptionFilter.existsFilter(), [INBOX_ATTRIBUTES.type]: sns.SubscriptionFilter.stringFilter({ allowlist: [...PauseReason.options] }) },
      }),
    );
  }
}
