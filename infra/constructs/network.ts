import { Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { NightshiftConfig } from '../../core/config/schema';
import { DnsFirewall } from './dns-firewall';
import { EgressProxy, PROXY_NAMESPACE } from './egress-proxy';

export interface NetworkProps {
  /** Availability zones to spread the runner subnets over (config `network.maxAzs`). */
  readonly maxAzs: number;
  /** Retention of the VPC flow logs and the proxy's access log. */
  readonly logRetention: logs.RetentionDays;
  /** The egress allowlist (default and per repo) the proxy enforces. */
  readonly config: Pick<NightshiftConfig, 'repos' | 'egress' | 'network'>;
}

/**
 * The network the runner tasks live in, default-deny by construction: runner tasks sit in isolated
 * subnets (no route to the internet, no NAT gateway) and their security group reaches only
 * - the egress proxy (squid with the allowlist, in a public subnet) on the proxy ports,
 * - the interface endpoints a Fargate task needs before the proxy can help (ECR api/dkr, CloudWatch Logs),
 * - the S3 and DynamoDB gateway endpoints (prefix lists), whose policies keep them to this account.
 * The VPC resolver, which no security group filters, answers only the names on the DNS Firewall's
 * allowlist (dns-firewall.ts). See docs/network.md.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** The security group of the runner tasks. Outbound: exactly the proxy and the endpoints. */
  readonly runnerSecurityGroup: ec2.SecurityGroup;
  /** Where runner tasks are placed. */
  readonly runnerSubnets: ec2.SubnetSelection;
  readonly egressProxy: EgressProxy;
  /** What the VPC resolver answers: the allowlist, the AWS endpoints, the private namespace; nothing else. */
  readonly dnsFirewall: DnsFirewall;
  /** The interface endpoints' security group (443 from the runner tasks only). */
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  /**
   * Environment the runner container needs for egress: NIGHTSHIFT_PROXY_URL (the proxy's default
   * port; the runner derives its repo's port with `repoProxyUrl`) and NIGHTSHIFT_PROXY_LOG_GROUP
   * (where `refusedHosts` finds the refusals).
   */
  readonly runnerEnvironment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs,
      natGateways: 0,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'runner', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
        // Only the egress proxy lives here; an internet gateway is free, a NAT gateway is not.
        { name: 'proxy', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26, mapPublicIpOnLaunch: false },
      ],
    });

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: props.logRetention });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.runnerSecurityGroup = new ec2.SecurityGroup(this, 'RunnerSecurityGroup', {
      vpc: this.vpc,
      description: `Nightshift runner tasks (${stack.stackName}): no inbound, outbound only to the egress proxy and VPC endpoints`,
      allowAllOutbound: false,
    });

    this.runnerSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    // All of the runner's rules are separate resources (their peers are other groups and deploy-time
    // prefix lists). Keep a match-nothing inline rule so EC2's default allow-all egress never exists,
    // not even between creating the group and adding its rules.
    (this.runnerSecurityGroup.node.defaultChild as ec2.CfnSecurityGroup).addPropertyOverride('SecurityGroupEgress', [
      { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 },
    ]);

    this.addGatewayEndpoints();
    this.endpointSecurityGroup = this.addInterfaceEndpoints();

    this.egressProxy = new EgressProxy(this, 'EgressProxy', {
      config: props.config,
      vpc: this.vpc,
      subnets: { subnetType: ec2.SubnetType.PUBLIC },
      logRetention: props.logRetention,
    });
    this.egressProxy.allowFrom(this.runnerSecurityGroup);
    // Private DNS of the interface endpoints covers the whole VPC, so the proxy task's own image pull and
    // log driver also resolve ECR and CloudWatch Logs to the endpoints.
    this.endpointSecurityGroup.addIngressRule(
      this.egressProxy.securityGroup,
      ec2.Port.tcp(443),
      'Egress proxy task (image pull, log driver)',
    );

    this.dnsFirewall = new DnsFirewall(this, 'DnsFirewall', {
      vpc: this.vpc,
      config: props.config,
      privateNamespace: PROXY_NAMESPACE,
      logRetention: props.logRetention,
    });

    this.runnerEnvironment = {
      NIGHTSHIFT_PROXY_URL: this.egressProxy.url,
      NIGHTSHIFT_PROXY_LOG_GROUP: this.egressProxy.logGroup.logGroupName,
    };
  }

  /** What a runner task role needs for egress (reading the proxy's refusals of its run). */
  grantRunnerEgress(grantee: iam.IGrantable): void {
    this.egressProxy.grantReadAccessLog(grantee);
  }

  /**
   * S3 (image layers, traces) and DynamoDB (run store) without the proxy. Their policies admit only
   * resources of this account (and ECR's layer bucket), so the endpoints are no way out to someone
   * else's bucket or table.
   */
  private addGatewayEndpoints(): void {
    const stack = Stack.of(this);
    const subnets = [this.runnerSubnets];
    const s3 = this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets });
    s3.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:ResourceAccount': stack.account } },
      }),
    );
    s3.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        // Where ECR keeps image layers (an AWS-owned bucket per region).
        resources: [`arn:${stack.partition}:s3:::prod-${stack.region}-starport-layer-bucket/*`],
      }),
    );
    const dynamodb = this.vpc.addGatewayEndpoint('DynamoDB', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets });
    dynamodb.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['dynamodb:*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:ResourceAccount': stack.account } },
      }),
    );
    for (const endpoint of [s3, dynamodb]) {
      const prefixList = ec2.Peer.prefixList(prefixListIdOf(endpoint, stack));
      this.runnerSecurityGroup.addEgressRule(prefixList, ec2.Port.tcp(443), `${endpoint.node.id} gateway endpoint`);
    }
  }

  /** ECR (api, dkr) to pull the runner image and CloudWatch Logs for its log driver, before any proxy is in play. */
  private addInterfaceEndpoints(): ec2.SecurityGroup {
    const stack = Stack.of(this);
    const securityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Nightshift interface endpoints: HTTPS from runner tasks and the egress proxy task only',
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(this.runnerSecurityGroup, ec2.Port.tcp(443), 'Runner tasks');
    this.runnerSecurityGroup.addEgressRule(securityGroup, ec2.Port.tcp(443), 'Interface endpoints (ECR, CloudWatch Logs)');
    const services = {
      EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
      EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    };
    for (const [id, service] of Object.entries(services)) {
      const endpoint = this.vpc.addInterfaceEndpoint(id, {
        service,
        subnets: this.runnerSubnets,
        securityGroups: [securityGroup],
        privateDnsEnabled: true,
        open: false,
      });
      // Only principals of this account: the endpoint is no channel to another account's logs or registry.
      endpoint.addToPolicy(
        new iam.PolicyStatement({
          principals: [new iam.AnyPrincipal()],
          actions: ['*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:PrincipalAccount': stack.account } },
        }),
      );
    }
    return securityGroup;
  }
}

/**
 * The AWS-managed prefix list of a gateway endpoint's service. CloudFormation does not expose it, and a
 * synth-time lookup would tie the stack to one account, so it is read at deploy (DescribePrefixLists).
 */
function prefixListIdOf(endpoint: ec2.GatewayVpcEndpoint, stack: Stack): string {
  const service = endpoint.node.id === 'S3' ? 's3' : 'dynamodb';
  const call = {
    service: 'EC2',
    action: 'describePrefixLists',
    parameters: { Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${stack.region}.${service}`] }] },
    physicalResourceId: cr.PhysicalResourceId.of(`${service}-prefix-list`),
    outputPaths: ['PrefixLists.0.PrefixListId'],
  };
  const lookup = new cr.AwsCustomResource(endpoint, 'PrefixListLookup', {
    onCreate: call,
    onUpdate: call,
    // DescribePrefixLists has no resource-level permissions.
    policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
    installLatestAwsSdk: false,
  });
  Validations.of(lookup).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ec2:DescribePrefixLists has no resource-level permissions; it is read-only.',
  });
  // The provider function AwsCustomResource shares across the stack (one per stack, created on first use).
  const provider = stack.node.tryFindChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
  if (provider) {
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'aws-cdk-lib attaches this managed policy to its shared custom-resource function; it allows creating and writing any log group of the account, for a function that runs only at deploy, with CDK code, to call DescribePrefixLists.',
      },
      { id: 'AwsSolutions-L1', reason: 'The runtime of the CDK-provided custom-resource function is chosen by aws-cdk-lib.' },
    );
  }
  return lookup.getResponseField('PrefixLists.0.PrefixListId');
}
