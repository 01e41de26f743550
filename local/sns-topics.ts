import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { CloudFormationTemplate, LOCAL_ACCOUNT, LOCAL_REGION } from './state-machine/template';
import { resolveIntrinsics } from './state-machine';

/**
 * SNS as local mode serves it (docs/local-mode.md#what-runs-where): Publish on the loopback AWS endpoints (local/aws-endpoints.ts)
 * writes each message to the outbox file, where a person (or a test) reads what would have been
 * e-mailed, and delivers it to the template's Lambda subscriptions of the topic whose filter policy
 * matches, as SNS invokes a subscribed function: asynchronously, with the SNS event shape.
 */

export interface PublishedMessage {
  topicArn: string;
  subject: string | undefined;
  message: string;
  /** String message attributes by name. */
  attributes: Record<string, string>;
}

export interface LambdaSubscription {
  topicArn: string;
  /** The handler module of the subscribed function. */
  entry: string;
  filterPolicy: Record<string, unknown> | undefined;
}

const Subscription = z.object({
  Protocol: z.string(),
  TopicArn: z.unknown(),
  Endpoint: z.unknown(),
  FilterPolicy: z.record(z.string(), z.unknown()).optional(),
});

/** The Lambda subscriptions of the template's topics (e-mail ones are the outbox file locally). */
export function lambdaSubscriptionsOf(templateJson: unknown, lambdaEntries: ReadonlyMap<string, string>): LambdaSubscription[] {
  const template = CloudFormationTemplate.parse(templateJson);
  const out: LambdaSubscription[] = [];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::SNS::Subscription') continue;
    const props = Subscription.parse(resource.Properties ?? {});
    if (props.Protocol !== 'lambda') continue;
    const topicArn = z.string().parse(resolveIntrinsics(props.TopicArn, template));
    const entry = lambdaEntries.get(z.string().parse(resolveIntrinsics(props.Endpoint, template)));
    if (!entry) throw new Error(`an SNS subscription of ${topicArn} names a function with no handler entry`);
    out.push({ topicArn, entry, filterPolicy: props.FilterPolicy });
  }
  return out;
}

/** The topic ARN of the template's topic whose logical id starts with `prefix`, as local mode names it. */
export function localTopicArn(templateJson: unknown, prefix: string): string | undefined {
  const template = CloudFormationTemplate.parse(templateJson);
  const id = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::SNS::Topic' && id.startsWith(prefix))?.[0];
  return id ? `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${id}` : undefined;
}

/**
 * The part of SNS filter policies the stack uses: per attribute a list of exact strings or
 * `{exists: boolean}`, and a top-level `$or` of such policies (with the attributes beside it, all must
 * hold). Anything else is refused loudly, never guessed.
 */
export function matchesFilterPolicy(policy: Record<string, unknown> | undefined, attributes: Record<string, string>): boolean {
  if (!policy) return true;
  return Object.entries(policy).every(([name, conditions]) => {
    if (name === '$or')
      return z
        .array(z.record(z.string(), z.unknown()))
        .min(2)
        .parse(conditions)
        .some((branch) => matchesFilterPolicy(branch, attributes));
    const list = z.array(z.union([z.string(), z.object({ exists: z.boolean() }).strict()])).parse(conditions);
    return list.some((c) => (typeof c === 'string' ? attributes[name] === c : c.exists === name in attributes));
  });
}

/** The event SNS invokes a subscribed function with. */
export function snsLambdaEvent(message: PublishedMessage, messageId: string, subscriptionArn: string): Record<string, unknown> {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: subscriptionArn,
        Sns: {
          Type: 'Notification',
          MessageId: messageId,
          TopicArn: message.topicArn,
          Subject: message.subject ?? null,
          Message: message.message,
          Timestamp: new Date().toISOString(),
          MessageAttributes: Object.fromEntries(Object.entries(message.attributes).map(([k, v]) => [k, { Type: 'String', Value: v }])),
        },
      },
    ],
  };
}

/** Publish's form body (AWS Query protocol): the topic, the text and the string message attributes. */
export function parsePublish(form: URLSearchParams): PublishedMessage {
  const topicArn = form.get('TopicArn');
  const message = form.get('Message');
  if (!topicArn || message === null) throw new Error('Publish needs TopicArn and Message');
  const attributes: Record<string, string> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const value = form.get(`MessageAttributes.entry.${n}.Value.StringValue`);
    if (value !== null) attributes[form.get(`MessageAttributes.entry.${n}.Name`)!] = value;
  }
  return { topicArn, subject: form.get('Subject') ?? undefined, message, attributes };
}

export const newMessageId = (): string => randomUUID();
