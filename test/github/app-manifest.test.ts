import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { classifyDelivery, HANDLED_EVENTS } from '../../core/github/webhook-events';
import { GITHUB_TOKEN_PERMISSIONS } from '../../lambdas/token-broker-contract';
import { CI_TOKEN_PERMISSIONS, STATUS_TOKEN_PERMISSIONS, WEBHOOK_TOKEN_PERMISSIONS } from '../../lambdas/github/webhook-token-contract';
import { webhookExamples as examples } from '../support/webhook-examples';

const Manifest = z
  .object({
    name: z.string().min(1).max(34),
    description: z.string(),
    url: z.string().url(),
    hook_attributes: z.object({ url: z.string(), active: z.literal(true) }).strict(),
    public: z.literal(false),
    default_permissions: z.record(z.string(), z.enum(['read', 'write'])),
    default_events: z.array(z.string()),
  })
  .strict();
const manifest = Manifest.parse(JSON.parse(readFileSync(join(__dirname, '..', '..', 'infra', 'github-app-manifest.json'), 'utf8')));

const level = { read: 1, write: 2 } as const;
/** Every token Nightshift asks its App for: the runner's (run broker), the webhook's, the run-end report's and CI auto-fix's. */
const asked: Record<string, 'read' | 'write'>[] = [
  GITHUB_TOKEN_PERMISSIONS,
  WEBHOOK_TOKEN_PERMISSIONS,
  STATUS_TOKEN_PERMISSIONS,
  CI_TOKEN_PERMISSIONS,
];

describe('the GitHub App manifest (infra/github-app-manifest.json)', () => {
  test("Given the brokers' token requests, Then the manifest grants exactly the permissions they ask for, at the highest level any asks", () => {
    const needed: Record<string, 'read' | 'write'> = {};
    for (const token of asked)
      for (const [name, lvl] of Object.entries(token)) if (!needed[name] || level[lvl] > level[needed[name]!]) needed[name] = lvl;
    expect(manifest.default_permissions).toEqual(needed);
    expect(manifest.default_permissions).toEqual({
      contents: 'write',
      pull_requests: 'write',
      issues: 'write',
      checks: 'write',
      actions: 'read',
      metadata: 'read',
    });
  });

  test('Given the webhook handler, Then the manifest subscribes to exactly the events it acts on', () => {
    expect([...manifest.default_events].sort()).toEqual([...HANDLED_EVENTS].sort());
  });

  test.each([...HANDLED_EVENTS])('Given real %s deliveries, When the handler classifies them, Then none is "not handled"', (event) => {
    const real = examples.find((e) => e.name === event)!.examples;
    expect(real.length).toBeGreaterThan(0);
    const settings = { triggerLabel: 'nightshift', commentCommand: '/nightshift' };
    for (const payload of real) {
      const trigger = classifyDelivery(event, payload, settings);
      expect(trigger.kind === 'ignore' ? trigger.reason : '').not.toMatch(/is not handled/);
    }
  });

  test('Given an event outside the subscription, When it is classified, Then it is not handled', () => {
    const push = examples.find((e) => e.name === 'push')!.examples[0];
    expect(classifyDelivery('push', push, { triggerLabel: 'nightshift', commentCommand: '/nightshift' })).toEqual({
      kind: 'ignore',
      reason: 'event push is not handled',
    });
  });
});
