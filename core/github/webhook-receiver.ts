import { createHash } from 'node:crypto';
import { ZodError } from 'zod';
import type { NightshiftConfig } from '../config/schema';
import type { WebhookDeliveriesPort } from '../store/webhook-deliveries-port';
import { DeliveryId } from '../store/webhook-deliveries-port';
import { classifyDelivery, type WebhookTrigger } from './webhook-events';
import { handleTrigger, type IntakeOutcome, type WebhookIntakeDeps } from './webhook-intake';
import type { WebhookSecret } from './webhook-signature';

/** GitHub caps webhook payloads at 25 MB; anything larger is not GitHub's. */
export const GITHUB_MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;
/** Our own limit: the payloads Nightshift acts on are far smaller (a comment is at most 65,536 characters). */
export const WEBHOOK_MAX_BODY_BYTES = 2 * 1024 * 1024;

export interface WebhookRequest {
  header(name: string): string | undefined;
  /** The body exactly as received. */
  body: Buffer;
}

export interface WebhookAnswer {
  statusCode: number;
  body: Record<string, unknown>;
  /** For the log line: what was decided (never the payload). */
  log: Record<string, unknown>;
}

export interface WebhookReceiverDeps extends WebhookIntakeDeps {
  config: NightshiftConfig;
  secret: WebhookSecret;
  deliveries: WebhookDeliveriesPort;
}

const error = (statusCode: number, code: string, message: string): WebhookAnswer => ({
  statusCode,
  body: { error: { code, message } },
  log: { code },
});

/**
 * `POST /v1/webhooks/github` (docs/github-app.md, The request path): size, then the signature over the raw bytes,
 * before anything is parsed; then the event is classified (pure) and, if it asks for something, the
 * delivery is claimed once (conditional writes) and handed to the intake. Nothing is written for a
 * request that is refused or ignored. A fault of ours gives the claim back so GitHub's redelivery works.
 */
export async function receiveWebhook(deps: WebhookReceiverDeps, request: WebhookRequest): Promise<WebhookAnswer> {
  if (request.body.length > GITHUB_MAX_PAYLOAD_BYTES)
    return error(413, 'body_too_large', `the body exceeds GitHub's ${GITHUB_MAX_PAYLOAD_BYTES} bytes`);
  if (request.body.length > WEBHOOK_MAX_BODY_BYTES) return error(413, 'body_too_large', `the body exceeds ${WEBHOOK_MAX_BODY_BYTES} bytes`);
  const raw = request.body.toString('utf8');
  if (!(await deps.secret.verify(raw, request.header('x-hub-signature-256')))) {
    return error(401, 'bad_signature', 'X-Hub-Signature-256 is missing or does not match the body (HMAC-SHA256 with the webhook secret)');
  }

  const event = request.header('x-github-event') ?? '';
  if (!/^[a-z_]{1,64}$/.test(event)) return error(400, 'bad_event', 'X-GitHub-Event is missing or malformed');
  const delivery = DeliveryId.safeParse(request.header('x-github-delivery'));
  if (!delivery.success) return error(400, 'bad_delivery', 'X-GitHub-Delivery is missing or malformed');
  let payload: unknown;
  try {
    payload = JSON.parse(raw);
  } catch {
    return error(400, 'malformed_json', 'the body is not JSON');
  }
  let trigger: WebhookTrigger;
  try {
    trigger = classifyDelivery(event, payload, deps.config.github);
  } catch (err) {
    if (err instanceof ZodError)
      return error(
        400,
        'unexpected_payload',
        `the ${event} payload lacks fields Nightshift reads: ${err.issues
          .slice(0, 5)
          .map((i) => i.path.join('.'))
          .join(', ')}`,
      );
    throw err;
  }
  const base = { event, deliveryId: delivery.data };
  if (trigger.kind === 'ignore')
    return {
      statusCode: 202,
      body: { status: 'ignored', reason: trigger.reason },
      log: { ...base, action: 'ignored', reason: trigger.reason },
    };

  const digest = createHash('sha256').update(request.body).digest('hex');
  const claim = await deps.deliveries.claim(delivery.data, digest, event);
  if (claim !== 'new')
    return { statusCode: 200, body: { status: 'duplicate', reason: claim }, log: { ...base, action: 'duplicate', reason: claim } };

  let outcome: IntakeOutcome;
  try {
    outcome = await handleTrigger(deps, trigger);
  } catch (err) {
    await deps.deliveries.release(delivery.data, digest).catch(() => undefined);
    throw err;
  }
  return { statusCode: 202, body: { status: outcome.action, ...outcome }, log: { ...base, ...outcome } };
}
