import { App, Validations, type AppProps } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../core/config/load';
import type { NightshiftConfig } from '../core/config/schema';
import { NightshiftStack } from './stack';
import { acknowledgeSharedGuardFindings, guardValidator } from './validation';

export const STACK_NAME = 'Nightshift';

export interface CreateAppOptions {
  /** Default: the file named by NIGHTSHIFT_CONFIG (default nightshift.config.json), validated. */
  config?: NightshiftConfig;
  /** Passed to the App (tests give an outdir and context). */
  appProps?: AppProps;
  /** cdk-nag's AwsSolutions pack as a validation plugin on the app. Default true. */
  nag?: boolean;
  /**
   * cfn-guard (AWS Control Tower proactive controls) as a validation plugin on the app. Default: on,
   * unless CDK_VALIDATION=false (which also turns off the CDK's own CloudFormation rules).
   */
  guard?: boolean;
  /** A prebuilt runner image instead of building runner/Dockerfile at deploy. */
  runnerImage?: ecs.ContainerImage;
}

/** Builds the app exactly as `cdk synth` does (infra/app.ts) and as the tests check it. */
export function createApp(options: CreateAppOptions = {}): { app: App; stack: NightshiftStack; config: NightshiftConfig } {
  const config = options.config ?? loadConfig();
  const app = new App(options.appProps);
  const stack = new NightshiftStack(app, STACK_NAME, {
    config,
    ...(options.runnerImage ? { runnerImage: options.runnerImage } : {}),
    description: 'Nightshift: background coding agents on ECS Fargate, Step Functions and Bedrock',
    ...(config.region ? { env: { region: config.region } } : {}),
  });
  acknowledgeSharedGuardFindings(stack);
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  if (options.guard ?? process.env.CDK_VALIDATION !== 'false') Validations.of(app).addPlugins(guardValidator());
  return { app, stack, config };
}
