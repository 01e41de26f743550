/** One event's recorded deliveries in @octokit/webhooks-examples. */
export interface WebhookExampleGroup {
  name: string;
  examples: Record<string, unknown>[];
}

/**
 * GitHub's recorded webhook deliveries, as @octokit/webhooks-examples publishes them: a JSON list the
 * package ships without types, so it is loaded with `require` here, once, and typed.
 */
export const webhookExamples: readonly WebhookExampleGroup[] = require('@octokit/webhooks-examples');

/**
 * A fresh copy of the `index`th (first by default) recorded `event` delivery (with `action`, when given),
 * for a test to change as it needs; `T` is the shape the test reads. Fails when the package has no such example.
 */
export function exampleOf<T = Record<string, unknown>>(event: string, action?: string, index = 0): T {
  const found = webhookExamples.find((group) => group.name === event)?.examples.filter((p) => action === undefined || p.action === action)[
    index
  ];
  if (found === undefined)
    throw new Error(`@octokit/webhooks-examples has no ${event}${action === undefined ? '' : `.${action}`} example #${index}`);
  return structuredClone(found) as T;
}
