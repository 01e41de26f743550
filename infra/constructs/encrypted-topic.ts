import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

export interface EncryptedTopicProps {
  /** Shown in e-mails. */
  displayName: string;
  /** The key's description. */
  keyDescription: string;
  emails: readonly string[];
  /** What the e-mail subscriptions receive (an SNS attribute filter policy); absent: every message. */
  emailFilterPolicy?: Record<string, sns.SubscriptionFilter>;
}

/**
 * An SNS topic of the stack's notifications (alarms, the inbox): encrypted with a rotating key of its
 * own, TLS only, mailing `emails` (what `emailFilterPolicy` lets through). Grants on the key only for AWS services acting on AWS resources
 * (Control Tower CT.KMS.PR.3): nothing here needs a grant, and a principal of the account that may
 * call kms:CreateGrant cannot hand the key's use to someone else. Callers add the publishers' access.
 */
export function encryptedTopic(scope: Construct, id: string, props: EncryptedTopicProps): { topic: sns.Topic; key: kms.Key } {
  const key = new kms.Key(scope, `${id}Key`, { enableKeyRotation: true, description: props.keyDescription });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
  const topic = new sns.Topic(scope, id, { displayName: props.displayName, masterKey: key, enforceSSL: true });
  for (const email of props.emails)
    topic.addSubscription(
      new subscriptions.EmailSubscription(email, props.emailFilterPolicy ? { filterPolicy: props.emailFilterPolicy } : {}),
    );
  return { topic, key };
}
