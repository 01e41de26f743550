import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface NetworkProps {
  /** Availability zones to spread the runner subnets over (config `network.maxAzs`). */
  readonly maxAzs: number;
  /** Retention of the VPC flow logs. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The network the runner tasks live in: a VPC with isolated subnets only (no internet gateway, no
 * NAT), so a task reaches nothing that is not explicitly provided to it. The egress-restricted
 * network (egress proxy, VPC endpoints) extends this construct in place.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** The security group of the runner tasks. Outbound rules are added by what the runner may reach. */
  readonly runnerSecurityGroup: ec2.SecurityGroup;
  /** Where runner tasks are placed. */
  readonly runnerSubnets: ec2.SubnetSelection;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs,
      natGateways: 0,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [{ name: 'runner', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
    });

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: props.logRetention });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.runnerSecurityGroup = new ec2.SecurityGroup(this, 'RunnerSecurityGroup', {
      vpc: this.vpc,
      description: `Nightshift runner tasks (${Stack.of(this).stackName}): no inbound, outbound only where granted`,
      allowAllOutbound: false,
    });

    this.runnerSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  }
}
