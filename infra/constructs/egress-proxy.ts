import { join } from 'node:path';
import { Aws, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { DEFAULT_PROXY_PORT, proxyPortRange, squidConfig } from '../../core/egress';
import { projectRoot } from './lambda-defaults';
import { acknowledgeGuard } from './nag';

/** The proxy's DNS name inside the VPC (Cloud Map private namespace). */
export const PROXY_NAMESPACE = 'nightshift.internal';
export const PROXY_SERVICE_NAME = 'egress-proxy';

export interface EgressProxyProps {
  readonly config: Pick<NightshiftConfig, 'repos' | 'egress'>;
  readonly vpc: ec2.IVpc;
  /** Public subnets: the proxy reaches the internet through the internet gateway, no NAT gateway. */
  readonly subnets: ec2.SubnetSelection;
  readonly logRetention: logs.RetentionDays;
  /** The proxy image. Default: built from proxy/Dockerfile by the CDK CLI at deploy (never at synth). */
  readonly image?: ecs.ContainerImage;
}

/**
 * The egress proxy: one small Fargate task running squid with the generated allowlist, kept running
 * (and replaced when its health check fails) by an ECS service, found by the runner under the Cloud
 * Map name `egress-proxy.nightshift.internal` (no load balancer: the cheapest way to a stable name).
 * Its security group accepts only the runner security group, on the proxy ports only.
 */
export class EgressProxy extends Construct {
  readonly service: ecs.FargateService;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  /** The range of ports squid listens on (default port and the per-repo ports). */
  readonly ports: { from: number; to: number };
  /** `http://egress-proxy.nightshift.internal:3128`, the runner's NIGHTSHIFT_PROXY_URL. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: EgressProxyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.ports = proxyPortRange(props.config);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Nightshift egress proxy: inbound from runner tasks on the proxy ports only; outbound HTTP(S)',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Allowlisted HTTPS destinations (CONNECT)');
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'Allowlisted plain-HTTP destinations and image pulls');

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });

    const cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc });
    const namespace = new servicediscovery.PrivateDnsNamespace(this, 'Namespace', { name: PROXY_NAMESPACE, vpc: props.vpc, description: 'Nightshift internal names' });

    const task = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    // The region may be a deploy-time token (environment-agnostic stack): generate with a marker and splice it in.
    const regionMarker = 'zz-nightshift-9';
    const region = Token.isUnresolved(stack.region) ? regionMarker : stack.region;
    const conf = squidConfig(props.config, { region }).split(regionMarker).join(Aws.REGION);
    task.addContainer('squid', {
      image: props.image ?? proxyImageFromSource(),
      essential: true,
      environment: { NIGHTSHIFT_SQUID_CONF: conf },
      portMappings: [{ containerPort: DEFAULT_PROXY_PORT }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'squid', mode: ecs.AwsLogDriverMode.NON_BLOCKING }),
      healthCheck: {
        command: ['CMD', '/usr/local/bin/healthcheck.sh', String(DEFAULT_PROXY_PORT)],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(15),
      },
      stopTimeout: Duration.seconds(10),
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition: task,
      desiredCount: 1,
      // Deploys start the new task before stopping the old one, so in-flight runs keep a proxy.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      assignPublicIp: true,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      cloudMapOptions: { cloudMapNamespace: namespace, name: PROXY_SERVICE_NAME, dnsRecordType: servicediscovery.DnsRecordType.A, dnsTtl: Duration.seconds(10) },
    });

    this.url = `http://${PROXY_SERVICE_NAME}.${PROXY_NAMESPACE}:${DEFAULT_PROXY_PORT}`;

    Validations.of(task).acknowledge({ id: 'AwsSolutions-ECS2', reason: 'The only variable is the generated squid.conf (the egress allowlist), which is not secret.' });
    Validations.of(task.obtainExecutionRole()).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'ecr:GetAuthorizationToken has no resource-level permissions (added by CDK for the image pull).' });
    const insights = 'One single-task service: Container Insights would cost more than the proxy; the health check and service events cover it.';
    Validations.of(cluster).acknowledge({ id: 'AwsSolutions-ECS4', reason: insights });
    acknowledgeGuard(cluster, { rule: 'ecs_container_insights_enabled_check', reason: insights });
    acknowledgeGuard(
      task,
      { rule: 'ecs_task_definition_nonroot_user_check', reason: 'The entrypoint runs as root only to create the log FIFOs and squid\'s directories for user proxy; squid drops to user proxy itself.' },
      { rule: 'ecs_containers_readonly_access_check', reason: 'squid writes its pid, log FIFOs and spool under /run/squid and /var/spool/squid in the container; the runner container, which runs model-written code, is read-only.' },
      { rule: 'ecs_task_definition_memory_hard_limit_check', reason: 'One container in a 512 MiB Fargate task: the task size is its hard memory limit.' },
    );
    acknowledgeGuard(this.service, {
      rule: 'ecs_service_assign_public_ip_disabled_check',
      reason: 'The egress proxy is the one component with internet egress: a public IP in a public subnet instead of a NAT gateway, behind a security group open only to the runner tasks.',
    });
  }

  /** Accepts proxy traffic from `peer` (the runner security group) on the proxy ports, and nothing else. */
  allowFrom(peer: ec2.ISecurityGroup): void {
    const ports = this.ports.from === this.ports.to ? ec2.Port.tcp(this.ports.from) : ec2.Port.tcpRange(this.ports.from, this.ports.to);
    this.securityGroup.addIngressRule(peer, ports, 'Runner tasks to the egress proxy');
    peer.addEgressRule(this.securityGroup, ports, 'Egress proxy');
  }

  /** Lets the runner read the proxy's access log to report the hosts it refused during the run. */
  grantReadAccessLog(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['logs:FilterLogEvents'], resourceArns: [this.logGroup.logGroupArn] });
  }
}

/** The proxy image, built from proxy/Dockerfile (only that directory is the build context). */
export function proxyImageFromSource(): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(join(projectRoot, 'proxy'), { platform: ecrAssets.Platform.LINUX_AMD64 });
}
