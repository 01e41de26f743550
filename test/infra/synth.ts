import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { parseConfig } from '../../core/config/load';
import type { NightshiftConfig } from '../../core/config/schema';
import { createApp } from '../../infra/create-app';
import type { NightshiftStack } from '../../infra/stack';

/** The configuration the infra and orchestration tests synthesize (one Spot repo, secrets, an inference profile). */
export function testConfig(overrides: Record<string, unknown> = {}): NightshiftConfig {
  return parseConfig({
    repos: [
      { name: 'acme/web', test: 'npm test', secrets: { NPM_TOKEN: 'nightshift/npm-token' }, spot: true },
      { name: 'acme/api', maxMinutes: 30 },
    ],
    concurrency: { global: 2, perRepo: 1 },
    model: {
      id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
      fargate: { vcpuHourUsd: 0.04048, gbHourUsd: 0.004445 },
    },
    github: { appId: 1, installationId: 2, privateKeySecret: 'nightshift/gh-key', webhookSecret: 'nightshift/gh-webhook' },
    ...overrides,
  });
}

export interface Synthesized {
  stack: NightshiftStack;
  template: Template;
  json: Record<string, unknown>;
}

/**
 * Synthesizes the app as `cdk synth` does (same factory), without the CloudFormation validator
 * (CDK_VALIDATION=false) for speed. `prebuiltRunnerImage` swaps the runner image asset for a registry
 * image when a test only needs the rest of the stack (it changes nothing else).
 */
export function synthesize(options: { config?: NightshiftConfig; prebuiltRunnerImage?: boolean } = {}): Synthesized {
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    const { app, stack } = createApp({
      config: options.config ?? testConfig(),
      ...(options.prebuiltRunnerImage ? { runnerImage: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim') } : {}),
    });
    const assembly = app.synth();
    const json = assembly.getStackByName(stack.stackName).template as Record<string, unknown>;
    return { stack, template: Template.fromJSON(json), json };
  } finally {
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}
