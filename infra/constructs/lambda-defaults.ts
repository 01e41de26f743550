import { join, relative, resolve } from 'node:path';
import { Duration, RemovalPolicy, type CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';
import type { NightshiftConfig } from '../../core/config/schema';

/** The repository root: Lambda entries are given relative to it. */
export const projectRoot = resolve(__dirname, '..', '..');

/**
 * Template metadata key naming the handler module of a function (`lambdas/orchestrator/admit.ts`).
 * The offline executor (local/state-machine) maps the state machine's Lambda tasks to in-process
 * handlers through it, so it runs exactly what is deployed.
 */
export const HANDLER_ENTRY_METADATA = 'nightshift:entry';

export interface NightshiftFunctionProps {
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** The validated configuration, inlined into the bundle (read by core/config/runtime.ts). */
  readonly config: NightshiftConfig;
  readonly logRetention: logs.RetentionDays;
  readonly environment?: Record<string, string>;
  readonly timeout?: Duration;
  readonly memorySize?: number;
}

/** How every handler is bundled and started; `lambdaEsbuildOptions` replays the same build for the size budget and the bench. */
export const LAMBDA_BUNDLING = { minify: true, sourceMap: true, sourcesContent: false, target: 'node24' } as const;
/** The functions' NODE_OPTIONS: stack traces through the source map (it costs module init time, measured in bench/handlers.bench.ts). */
export const LAMBDA_NODE_OPTIONS = '--enable-source-maps';

/**
 * The one way Nightshift builds a Lambda function: Node.js 24 on arm64, its own log group with a
 * retention, its own role with no managed policies (callers grant what it needs), esbuild bundling
 * with source maps and the configuration inlined at synth (a config change is a new bundle, and the
 * config never counts against Lambda's 4 KB environment limit).
 */
export function nightshiftFunction(scope: Construct, id: string, props: NightshiftFunctionProps): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `${props.description} (Nightshift)`,
  });
  // The log group exists before the function, so the role only writes to it (no CreateLogGroup anywhere).
  logGroup.grantWrite(role);

  const fn = new nodejs.NodejsFunction(scope, id, {
    entry: join(projectRoot, props.entry),
    handler: 'handler',
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 512,
    timeout: props.timeout ?? Duration.seconds(30),
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    projectRoot,
    depsLockFilePath: join(projectRoot, 'package-lock.json'),
    environment: {
      ...props.environment,
      NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
    },
    bundling: {
      ...LAMBDA_BUNDLING,
      format: nodejs.OutputFormat.CJS,
      define: { 'process.env.NIGHTSHIFT_CONFIG_JSON': inlineConfigExpression(props.config) },
    },
  });
  (fn.node.defaultChild as CfnResource).addMetadata(HANDLER_ENTRY_METADATA, relative(projectRoot, join(projectRoot, props.entry)));
  return fn;
}

/** The esbuild `define` value: a JS string literal holding the config JSON ($schema is editor-only). */
export function inlineConfigExpression(config: NightshiftConfig): string {
  const { $schema: _editorOnly, ...runtime } = config;
  return JSON.stringify(JSON.stringify(runtime));
}

/**
 * The esbuild options NodejsFunction passes for a handler (bundling above, plus its defaults for the
 * Node.js 18+ runtimes: platform node, the AWS SDK v3 external since the runtime provides it), so a
 * bundle built with these is byte for byte what is deployed, minus the asset staging.
 */
export function lambdaEsbuildOptions(entry: string, config: NightshiftConfig, outfile: string): BuildOptions {
  return {
    entryPoints: [join(projectRoot, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    sourcesContent: LAMBDA_BUNDLING.sourcesContent,
    target: LAMBDA_BUNDLING.target,
    external: ['@aws-sdk/*'],
    define: { 'process.env.NIGHTSHIFT_CONFIG_JSON': inlineConfigExpression(config) },
    absWorkingDir: projectRoot,
    logLevel: 'error',
  };
}
