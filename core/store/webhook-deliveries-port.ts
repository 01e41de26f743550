import * as z from 'zod';

/** Webhook deliveries already processed: the port the domain calls; adapters/dynamodb/webhook-deliveries.ts implements it. */
export const DeliveryId = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'must be a GitHub delivery id');

export type DeliveryClaim = 'new' | 'duplicate_delivery' | 'replayed_body';

export interface WebhookDeliveriesPort {
  /** Claims the delivery and its body; `new` exactly once per delivery id and per body within the TTL. */
  claim(deliveryId: string, bodyDigest: string, event: string): Promise<DeliveryClaim>;
  /** Gives a claim back (a fault of ours before anything was done), so that GitHub's redelivery is processed. */
  release(deliveryId: string, bodyDigest: string): Promise<void>;
}
