import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { idempotencyKeys } from './tables';
import { isConditionFailure } from './condition-failure';
import { DeliveryId, type DeliveryClaim, type WebhookDeliveriesPort } from '../../core/store/webhook-deliveries-port';

export { DeliveryId, type DeliveryClaim, type WebhookDeliveriesPort };

/**
 * Webhook deliveries already processed (at most once: docs/github-app.md, The request path), in the idempotency table beside
 * the Idempotency-Key records (adapters/dynamodb/idempotency-records.ts): `github-delivery#<X-GitHub-Delivery>` and `github-body#<sha256 of the body>`,
 * each with a TTL (`expiration`, epoch seconds). The delivery header is not covered by GitHub's
 * signature, so a captured body replayed under a new delivery id is caught by the body's digest.
 * A claim is one conditional PutItem per key; an expired marker counts as absent even before
 * DynamoDB's TTL sweep removes it (dynalite has no TTL at all).
 */
export const DELIVERY_TTL_DAYS = 7;

const Digest = z.string().regex(/^[0-9a-f]{64}$/);

export const deliveryKey = (deliveryId: string) => `github-delivery#${deliveryId}`;
export const bodyKey = (digest: string) => `github-body#${digest}`;

export function createWebhookDeliveries(
  doc: DynamoDBDocumentClient,
  tableName: string,
  now: () => Date = () => new Date(),
): WebhookDeliveriesPort {
  async function put(id: string, item: Record<string, unknown>): Promise<boolean> {
    const at = now();
    const nowSeconds = Math.floor(at.getTime() / 1000);
    try {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            [idempotencyKeys.partitionKey]: id,
            [idempotencyKeys.ttlAttribute]: nowSeconds + DELIVERY_TTL_DAYS * 86_400,
            receivedAt: at.toISOString(),
            ...item,
          },
          ConditionExpression: 'attribute_not_exists(#id) OR #exp < :now',
          ExpressionAttributeNames: { '#id': idempotencyKeys.partitionKey, '#exp': idempotencyKeys.ttlAttribute },
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
  async function remove(id: string): Promise<void> {
    await doc.send(new DeleteCommand({ TableName: tableName, Key: { [idempotencyKeys.partitionKey]: id } }));
  }
  return {
    async claim(deliveryId, bodyDigest, event) {
      const id = DeliveryId.parse(deliveryId);
      const digest = Digest.parse(bodyDigest);
      if (!(await put(deliveryKey(id), { event: event.slice(0, 100), bodyDigest: digest }))) return 'duplicate_delivery';
      if (!(await put(bodyKey(digest), { deliveryId: id }))) return 'replayed_body';
      return 'new';
    },
    async release(deliveryId, bodyDigest) {
      await remove(bodyKey(Digest.parse(bodyDigest)));
      await remove(deliveryKey(DeliveryId.parse(deliveryId)));
    },
  };
}
