import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NightshiftConfig, RunnerImage } from '../../core/config/schema';
import { RUNNER_STOP_TIMEOUT_SECONDS } from '../../core/runs/stop-grace';
import { projectRoot } from './lambda-defaults';
import { acknowledgeOnPrincipal, nagRefOf } from './nag';
import type { Network } from './network';
import type { State } from './state';

// The runner's container name: the state machine overrides RUN_ID, TASK_TOKEN and RUN_KEY on it (defined in core for the task-stopped handler).
export { RUNNER_CONTAINER_NAME } from '../../core/runs/runner-stop';
import { RUNNER_CONTAINER_NAME } from '../../core/runs/runner-stop';

/**
 * Writable paths on the runner's otherwise read-only root filesystem: the clone and its build output,
 * temporary files, and the home directories of the runner and the tool user (git and package caches).
 */
export const RUNNER_WRITABLE_PATHS = { workspace: '/workspace', tmp: '/tmp', home: '/home' } as const;

/**
 * Linux capabilities the runner keeps. It starts as root only to run each tool command as the
 * unprivileged tool user (runner/isolation/tool-identity.ts): that takes SETUID/SETGID, KILL for the
 * tool's process group, and CHOWN/FOWNER/DAC_OVERRIDE to hand the workspace to that user. Every other
 * default capability is dropped (Fargate cannot add any back).
 */
const droppedCapabilities = [
  ecs.Capability.AUDIT_WRITE,
  ecs.Capability.FSETID,
  ecs.Capability.MKNOD,
  ecs.Capability.NET_BIND_SERVICE,
  ecs.Capability.NET_RAW,
  ecs.Capability.SETFCAP,
  ecs.Capability.SETPCAP,
  ecs.Capability.SYS_CHROOT,
];

/**
 * The regions a system inference profile's geography routes to, as an ARN region pattern. `global`
 * profiles route to any commercial region; the InferenceProfileArn condition is what pins those.
 */
const inferenceProfileRegions = {
  us: 'us-*',
  'us-gov': 'us-gov-*',
  eu: 'eu-*',
  apac: 'ap-*',
  jp: 'ap-northeast-*',
  au: 'ap-southeast-*',
  ca: 'ca-*',
  global: '*',
} as const;

export interface AgentRuntimeProps {
  readonly config: NightshiftConfig;
  readonly network: Network;
  readonly state: State;
  readonly logRetention: logs.RetentionDays;
  /** The runner image. Default: built from runner/Dockerfile at deploy (never at synth). */
  readonly image?: ecs.ContainerImage;
}

/**
 * Where runs execute: an ECS cluster with FARGATE and FARGATE_SPOT capacity providers and the runner's
 * Fargate task definition (read-only root filesystem, init process, two minutes to push work in
 * progress on SIGTERM, a task role with only what the runner needs).
 */
export class AgentRuntime extends Construct {
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly logGroup: logs.LogGroup;
  /** The security group and subnets runner tasks are placed in. */
  readonly network: Network;

  constructor(scope: Construct, id: string, props: AgentRuntimeProps) {
    super(scope, id);
    const { config, state } = props;
    this.network = props.network;

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });

    this.logGroup = new logs.LogGroup(this, 'RunnerLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Runner', {
      cpu: Math.round(config.model.fargate.vcpu * 1024),
      memoryLimitMiB: Math.round(config.model.fargate.memoryGb * 1024),
      ephemeralStorageGiB: 50,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    for (const [name] of Object.entries(RUNNER_WRITABLE_PATHS)) this.taskDefinition.addVolume({ name });

    this.container = this.taskDefinition.addContainer(RUNNER_CONTAINER_NAME, {
      image: props.image ?? runnerImageFromSource(config.model.fargate.image),
      essential: true,
      // The whole task's memory, as a hard limit: the runner is the only container.
      memoryLimitMiB: Math.round(config.model.fargate.memoryGb * 1024),
      readonlyRootFilesystem: true,
      stopTimeout: Duration.seconds(RUNNER_STOP_TIMEOUT_SECONDS),
      linuxParameters: this.linuxParameters(),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'run', mode: ecs.AwsLogDriverMode.NON_BLOCKING }),
      environment: {
        // The runner reaches no table or bucket itself; the token broker stores its trace through a presigned PUT.
        TRACES_BUCKET: state.traces.bucketName,
        NIGHTSHIFT_MODEL: config.model.provider,
        // The runner gives up just before ECS's SIGKILL (core/runs/stop-grace.ts).
        NIGHTSHIFT_STOP_TIMEOUT_SECONDS: String(RUNNER_STOP_TIMEOUT_SECONDS),
        // The egress proxy and its access log (infra/constructs/network.ts, core/egress).
        ...props.network.runnerEnvironment,
        // The runner reads its configuration from here (core/config/runtime.ts); it holds no secrets.
        NIGHTSHIFT_CONFIG_JSON: JSON.stringify(withoutEditorFields(config)),
      },
    });
    // The image is part of the setup cache's key (runner/session/setup-cache.ts): a new image never restores an old install.
    this.container.addEnvironment('NIGHTSHIFT_RUNNER_IMAGE', this.container.imageName);
    for (const [name, containerPath] of Object.entries(RUNNER_WRITABLE_PATHS)) {
      this.container.addMountPoints({ sourceVolume: name, containerPath, readOnly: false });
    }
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds only the trace bucket, the proxy and the non-secret configuration; the proxy credential is an ECS secret, and the task token and run key arrive as per-run overrides.',
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'cdk-validator-cfnguard::ecs_task_definition_nonroot_user_check',
      reason:
        'The runner starts as root only to run every tool command as the unprivileged tool user (runner/isolation), keeping only the capabilities that takes.',
    });

    this.grantRunnerPermissions(config);
    acknowledgeOnPrincipal(this.taskDefinition.obtainExecutionRole(), {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken (pulling the runner image) has no resource-level permissions; the pull itself is scoped to the image repository.',
    });
    props.network.grantRunnerEgress(this.taskDefinition.taskRole);
    // The credential that opens the proxy's AWS API hosts; the runner keeps it from its tools.
    props.network.egressProxy.addRunnerCredential(this.container);
  }

  get taskRole(): iam.IRole {
    return this.taskDefinition.taskRole;
  }

  /** Stopping a run's tasks (finalize): find them by StartedBy = run id, then stop them. */
  grantStopRunTasks(grantee: iam.IGrantable): void {
    const clusterCondition = { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } };
    iam.Grant.addToPrincipal({
      grantee,
      // ListTasks has no resource-level permissions; the condition pins it to this cluster.
      actions: ['ecs:ListTasks'],
      resourceArns: ['*'],
      conditions: clusterCondition,
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ecs:StopTask'],
      resourceArns: [Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` })],
      conditions: clusterCondition,
    });
    acknowledgeOnPrincipal(
      grantee,
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecs:ListTasks has no resource-level permissions; the ecs:cluster condition pins it to the runner cluster.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/${nagRefOf(this.cluster)}/*]`,
        reason: 'Task ids are created per run at run time; the grant covers only tasks of the runner cluster.',
      },
    );
  }

  /** DescribeTasks on this cluster's tasks only (the task-stopped handler reads a stopped task's overrides). */
  grantDescribeRunTasks(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ecs:DescribeTasks'],
      resourceArns: [Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` })],
      conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
    });
    acknowledgeOnPrincipal(grantee, {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/${nagRefOf(this.cluster)}/*]`,
      reason: 'Task ids are created per run at run time; the grant covers only tasks of the runner cluster.',
    });
  }

  private linuxParameters(): ecs.LinuxParameters {
    const linux = new ecs.LinuxParameters(this, 'RunnerLinux', { initProcessEnabled: true });
    linux.dropCapabilities(...droppedCapabilities);
    return linux;
  }

  private grantRunnerPermissions(config: NightshiftConfig): void {
    const role = this.taskDefinition.taskRole;
    const stack = Stack.of(this);
    // No DynamoDB and no S3: the run record, its events, its ledger entries and its trace are read and
    // written through the token broker, which checks the run key first (docs/security.md). A grant here
    // would reach every run, since all runner tasks share this role.

    // The model. A plain model id is one foundation model in this region. A system inference profile
    // (geography prefix) is invoked in this region and routes to the foundation model in the regions of
    // its geography; the foundation model is allowed there only when called through that very profile.
    // Another provider is reached over HTTPS through the egress proxy with a key from the token broker: no Bedrock grant.
    if (config.model.provider !== 'bedrock') return;
    const modelId = config.model.id;
    const invoke = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];
    const profile = /^(us|eu|apac|global|us-gov|ca|jp|au)\.(.+)$/.exec(modelId);
    if (!profile) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: invoke,
          resources: [`arn:${stack.partition}:bedrock:${stack.region}::foundation-model/${modelId}`],
        }),
      );
    } else {
      const regions = inferenceProfileRegions[profile[1] as keyof typeof inferenceProfileRegions];
      const foundationModel = profile[2];
      const profileArn = stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: modelId });
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: invoke, resources: [profileArn] }));
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: invoke,
          resources: [`arn:${stack.partition}:bedrock:${regions}::foundation-model/${foundationModel}`],
          conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } },
        }),
      );
      acknowledgeOnPrincipal(role, {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:${regions}::foundation-model/${foundationModel}]`,
        reason:
          'A cross-region inference profile serves the call from a region of its geography; the model is fixed and the bedrock:InferenceProfileArn condition allows it only through this profile.',
      });
    }

    // No Secrets Manager access: repo secrets (config repos[].secrets) come from the token broker,
    // which hands a run only its own repository's secrets (a grant here would cover every repo's).
  }
}

function withoutEditorFields(config: NightshiftConfig): Omit<NightshiftConfig, '$schema'> {
  const { $schema: _editorOnly, ...runtime } = config;
  return runtime;
}

/** The runner image, built from the repository (runner/Dockerfile, the `target` stage) by the CDK CLI at deploy time. */
export function runnerImageFromSource(target: RunnerImage): ecs.ContainerImage {
  const dockerfile = join(projectRoot, 'runner', 'Dockerfile');
  if (!existsSync(dockerfile)) throw new Error(`the runner image is built from ${dockerfile}, which does not exist`);
  return ecs.ContainerImage.fromAsset(projectRoot, {
    file: 'runner/Dockerfile',
    target,
    platform: ecrAssets.Platform.LINUX_AMD64,
    // Only the sources the image needs: hashing node_modules or cdk.out would make every synth slow.
    exclude: ['node_modules', 'cdk.out', '.git', '.nightshift', '.tmp', 'coverage', 'test', 'docs', 'bench', '*.log'],
  });
}
