import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { NightshiftConfig } from '../../core/config/schema';
import { createApp } from '../../infra/create-app';
import type { NightshiftStack } from '../../infra/stack';
import { stackFixture, testConfig } from '../support/test-config';

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
      config: options.config ?? testConfig(stackFixture),
      ...(options.prebuiltRunnerImage
        ? { runnerImage: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim') }
        : {}),
    });
    const assembly = app.synth();
    const json = assembly.getStackByName(stack.stackName).template as Record<string, unknown>;
    return { stack, template: Template.fromJSON(json), json };
  } finally {
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}
