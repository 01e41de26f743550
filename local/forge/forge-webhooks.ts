import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';

/**
 * Webhook delivery of the local forge: GitHub-shaped events POSTed to the URL set with `setWebhook`,
 * signed with its secret (X-Hub-Signature-256), each recorded with the platform's answer.
 */

/** A webhook a route's answer asks to deliver: its event and payload. */
export interface PendingDelivery {
  event: string;
  payload: Record<string, unknown> & { action: string };
}

/** One webhook delivery the forge made (for tests and the demo). */
export interface ForgeDelivery {
  event: string;
  action: string;
  deliveryId: string;
  /** The platform's answer, or 0 when it could not be reached. */
  status: number;
  answer: string;
}

export interface WebhookSender {
  deliveries: ForgeDelivery[];
  setWebhook(url: string, secret: string): void;
  /** Starts a delivery (none when no webhook is set); its answer is recorded in `deliveries`. */
  deliver(pending: PendingDelivery): void;
  /** Resolves once every delivery started so far has been answered. */
  idle(): Promise<void>;
}

export function webhookSender(): WebhookSender {
  const deliveries: ForgeDelivery[] = [];
  const inFlight = new Set<Promise<void>>();
  let webhook: { url: string; secret: string } | undefined;

  const deliver = (pending: PendingDelivery) => {
    const target = webhook;
    if (!target) return;
    const deliveryId = randomUUID();
    const body = JSON.stringify(pending.payload);
    const run = (async () => {
      let status = 0;
      let answer = '';
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'GitHub-Hookshot/nightshift-forge',
            'x-github-event': pending.event,
            'x-github-delivery': deliveryId,
            'x-hub-signature-256': await sign(target.secret, body),
          },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        status = response.status;
        answer = (await response.text()).slice(0, 2_000);
      } catch (err) {
        answer = (err as Error).message;
      }
      deliveries.push({ event: pending.event, action: pending.payload.action, deliveryId, status, answer });
    })();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };

  return {
    deliveries,
    setWebhook: (url, secret) => {
      webhook = { url, secret };
    },
    deliver,
    idle: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
