import { parseConfig } from '../../core/config/load';
import type { NightshiftConfig } from '../../core/config/schema';

/**
 * The tests' configurations, side by side, and the one factory that makes them. A fixture is what a
 * suite's tests share, written as in nightshift.config.json; a test puts its own top-level fields over
 * it (`testConfig(apiFixture, { auth: … })` replaces `auth` whole) and gets the file parsed as the CDK
 * app and local mode parse it.
 */

/** The model id and prices every fixture names (Claude Sonnet 4.5 through a US inference profile). */
const sonnet = {
  id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
} as const;

type Fixture = Record<string, unknown>;

/** The stack the infra and orchestration tests synthesize: one Spot repo with secrets, an inference profile, a GitHub App with webhooks. */
export const stackFixture: Fixture = {
  repos: [
    { name: 'acme/web', test: 'npm test', secrets: { NPM_TOKEN: 'nightshift/npm-token' }, spot: true },
    { name: 'acme/api', maxMinutes: 30 },
  ],
  concurrency: { global: 2, perRepo: 1 },
  model: { ...sonnet, fargate: { vcpuHourUsd: 0.04048, gbHourUsd: 0.004445 } },
  github: { appId: 1, installationId: 2, privateKeySecret: 'nightshift/gh-key', webhookSecret: 'nightshift/gh-webhook' },
};

/** The API's handlers over dynalite: two repos (one Spot), small budgets, a token secret. */
export const apiFixture: Fixture = {
  repos: [{ name: 'acme/web', budgetUsd: 1, maxMinutes: 20, spot: true }, { name: 'acme/api' }],
  budgets: { perRunUsd: 2, maxPerRunUsd: 5, perRequesterDailyUsd: 10, dailyUsd: 50 },
  timeouts: { maxMinutes: 60, noProgressMinutes: 10 },
  model: { id: 'test-model', prices: sonnet.prices, fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 } },
  github: { tokenSecret: 'nightshift/github-token' },
};

/** The runner against the sample project: compute free unless a test prices it, a GitHub API nothing listens on. */
export function runnerFixture(
  overrides: { fargate?: Partial<NightshiftConfig['model']['fargate']>; maxOutputTokens?: number } = {},
): Fixture {
  return {
    repos: [{ name: 'demo/sample-app', test: 'npm test', budgetUsd: 1, maxMinutes: 20 }],
    model: {
      ...sonnet,
      maxOutputTokens: overrides.maxOutputTokens ?? 1024,
      fargate: { vcpuHourUsd: 0, gbHourUsd: 0, vcpu: 1, memoryGb: 4, ...overrides.fargate },
    },
    github: { tokenSecret: 'nightshift/github-token', apiUrl: 'http://127.0.0.1:9' },
  };
}

/** Local mode with the sample repository: cap 2, the shortest timeouts the schema allows. */
export function localFixture(overrides: { concurrency?: { global: number; perRepo: number } } = {}) {
  return {
    repos: [{ name: 'demo/sample-app', test: 'npm test', budgetUsd: 1, maxMinutes: 3 }],
    budgets: { perRunUsd: 1, maxPerRunUsd: 2, perRequesterDailyUsd: 50, dailyUsd: 100 },
    concurrency: overrides.concurrency ?? { global: 2, perRepo: 2 },
    timeouts: { maxMinutes: 3, noProgressMinutes: 1 },
    egress: { allow: ['registry.npmjs.org'] },
    model: { ...sonnet, maxOutputTokens: 4096, fargate: { vcpuHourUsd: 0.04048, gbHourUsd: 0.004445, vcpu: 1, memoryGb: 4 }, maxTurns: 10 },
    github: { tokenSecret: 'nightshift/github-token' },
  };
}

/** A test configuration: `fixture` with `overrides` over it, field by field at the top level, parsed. */
export function testConfig(fixture: Fixture, overrides: Record<string, unknown> = {}): NightshiftConfig {
  return parseConfig({ ...fixture, ...overrides });
}
