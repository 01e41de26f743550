import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../../core/config/load';
import { proxyPortRange } from '../../core/egress';
import { Network } from '../../infra/constructs/network';

const config = parseConfig({
  repos: [{ name: 'acme/web', egressAllow: ['.internal-registry.example'] }, { name: 'acme/api' }],
  model: {
    id: 'anthropic.claude',
    prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
    fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 },
  },
  github: { tokenSecret: 'nightshift/token' },
});

/**
 * The network constructs alone in a stack (the whole app's factory also needs the runner image's
 * Dockerfile). cdk-nag runs as in the app, so a finding fails synth here too.
 */
function synth(maxAzs = 1) {
  const app = new App();
  const stack = new Stack(app, 'NetworkUnderTest', { env: { account: '111122223333', region: 'eu-west-1' } });
  const network = new Network(stack, 'Network', { maxAzs, logRetention: logs.RetentionDays.ONE_MONTH, config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  return { stack, network, template, id };
}

describe('Network (VPC, endpoints, egress proxy)', () => {
  const { stack, network, template, id } = synth();
  const runnerSg = id(network.runnerSecurityGroup);
  const proxySg = id(network.egressProxy.securityGroup);
  const endpointSg = id(network.endpointSecurityGroup);
  const { from, to } = proxyPortRange(config);

  it('Given the synthesized network, Then it has no NAT gateway, isolated runner subnets and one public subnet for the proxy, and no synth error', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.hasResourceProperties('AWS::EC2::Subnet', {
      MapPublicIpOnLaunch: false,
      Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Isolated' }]),
    });
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });

  it('Given the synthesized network, Then it has gateway endpoints for S3 and DynamoDB and interface endpoints only for ECR api/dkr and CloudWatch Logs, pinned to the account', () => {
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((r) => r.Properties as Record<string, unknown>);
    const names = endpoints.map((p) => JSON.stringify(p.ServiceName)).map((s) => /(s3|dynamodb|ecr\.api|ecr\.dkr|logs)"/.exec(s)?.[1]);
    expect(names.sort()).toEqual(['dynamodb', 'ecr.api', 'ecr.dkr', 'logs', 's3']);
    for (const p of endpoints) {
      const statements = (p.PolicyDocument as { Statement: { Condition?: unknown; Resource: unknown }[] }).Statement;
      // Every statement is pinned to this account, except S3's read of ECR's own layer bucket.
      for (const s of statements)
        if (!JSON.stringify(s.Resource).includes('starport-layer-bucket'))
          expect(JSON.stringify(s.Condition)).toMatch(/aws:(Resource|Principal)Account/);
    }
    template.resourcePropertiesCountIs(
      'AWS::EC2::VPCEndpoint',
      { VpcEndpointType: 'Interface', PrivateDnsEnabled: true, SecurityGroupIds: [{ 'Fn::GetAtt': [endpointSg, 'GroupId'] }] },
      3,
    );
  });

  it('Given the runner security group, Then its egress is exactly the proxy ports, the endpoints and the gateway prefix lists, never the internet', () => {
    const inline = template.findResources('AWS::EC2::SecurityGroup')[runnerSg]!.Properties.SecurityGroupEgress;
    expect(inline).toEqual([
      { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 },
    ]);
    const rules = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'))
      .map((r) => r.Properties as Record<string, unknown>)
      .filter((p) => JSON.stringify(p.GroupId).includes(runnerSg));
    const shape = rules.map((r) => ({
      to: r.DestinationSecurityGroupId ? JSON.stringify(r.DestinationSecurityGroupId) : JSON.stringify(r.DestinationPrefixListId),
      ports: `${r.IpProtocol}:${r.FromPort}-${r.ToPort}`,
    }));
    expect(shape).toHaveLength(4);
    expect(shape).toEqual(
      expect.arrayContaining([
        { to: JSON.stringify({ 'Fn::GetAtt': [proxySg, 'GroupId'] }), ports: `tcp:${from}-${to}` },
        { to: JSON.stringify({ 'Fn::GetAtt': [endpointSg, 'GroupId'] }), ports: 'tcp:443-443' },
        { to: expect.stringContaining('S3PrefixListLookup'), ports: 'tcp:443-443' },
        { to: expect.stringContaining('DynamoDBPrefixListLookup'), ports: 'tcp:443-443' },
      ]),
    );
    // No rule anywhere opens the runner to the internet.
    for (const r of rules) expect([r.CidrIp, r.CidrIpv6]).toEqual([undefined, undefined]);
  });

  it('Given the proxy security group, Then it accepts only the runner security group, on the proxy ports; the endpoints accept the runner and the proxy on 443', () => {
    expect(template.findResources('AWS::EC2::SecurityGroup')[proxySg]!.Properties.SecurityGroupIngress).toBeUndefined();
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((r) => r.Properties as Record<string, unknown>)
      .filter((p) => JSON.stringify(p.GroupId).includes(proxySg));
    expect(ingress).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: from,
        ToPort: to,
        SourceSecurityGroupId: { 'Fn::GetAtt': [runnerSg, 'GroupId'] },
      }),
    ]);
    const endpointIngress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((r) => r.Properties as Record<string, unknown>)
      .filter((p) => JSON.stringify(p.GroupId).includes(endpointSg));
    expect(endpointIngress).toHaveLength(2);
    expect(endpointIngress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ FromPort: 443, ToPort: 443, SourceSecurityGroupId: { 'Fn::GetAtt': [runnerSg, 'GroupId'] } }),
        // Endpoint private DNS covers the whole VPC: the proxy task's image pull and log driver land here too.
        expect.objectContaining({ FromPort: 443, ToPort: 443, SourceSecurityGroupId: { 'Fn::GetAtt': [proxySg, 'GroupId'] } }),
      ]),
    );
  });

  it('Given the synthesized network, Then the proxy runs as a self-healing Fargate service in the public subnet, found through Cloud Map', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 1,
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
      NetworkConfiguration: {
        AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED', SecurityGroups: [{ 'Fn::GetAtt': [proxySg, 'GroupId'] }] }),
      },
      ServiceRegistries: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', { Name: 'nightshift.internal' });
    template.hasResourceProperties('AWS::ServiceDiscovery::Service', { Name: 'egress-proxy' });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '256',
      Memory: '512',
      ContainerDefinitions: [
        Match.objectLike({
          Environment: [
            {
              Name: 'NIGHTSHIFT_SQUID_CONF',
              Value: Match.stringLikeRegexp('acl aws_api dstdomain -n bedrock-runtime\\.eu-west-1\\.amazonaws\\.com'),
            },
          ],
          // The runner credential reaches squid as an ECS secret, never as a plain variable.
          Secrets: [{ Name: 'NIGHTSHIFT_PROXY_PASSWORD', ValueFrom: { Ref: Match.stringLikeRegexp('RunnerCredential') } }],
          HealthCheck: Match.objectLike({ Command: ['CMD', '/usr/local/bin/healthcheck.sh', '3128'] }),
        }),
      ],
    });
    expect(network.runnerEnvironment.NIGHTSHIFT_PROXY_URL).toBe('http://egress-proxy.nightshift.internal:3128');
  });

  describe('DNS Firewall (the VPC resolver is no way out)', () => {
    const vpc = { Ref: id(network.vpc as never) };
    const lists = () => template.findResources('AWS::Route53Resolver::FirewallDomainList');
    const listId = (domains: (d: unknown[]) => boolean) => {
      const found = Object.entries(lists()).filter(([, r]) => domains(r.Properties.Domains as unknown[]));
      expect(found).toHaveLength(1);
      return { 'Fn::GetAtt': [found[0]![0], 'Id'] };
    };
    const rendered = (domains: unknown[]) => domains.map((d) => JSON.stringify(d));

    it('Given the DNS Firewall rule group, Then it allows the egress allowlist, every repo egressAllow, the AWS names and the private namespace, then blocks everything', () => {
      const allowed = listId((d) => d.length > 1);
      const everything = listId((d) => JSON.stringify(d) === JSON.stringify(['*.']));
      const domains = rendered(
        Object.values(lists()).find((r) => (r.Properties.Domains as unknown[]).length > 1)!.Properties.Domains as unknown[],
      );
      for (const name of [
        'github.com.',
        '*.github.com.',
        'registry.npmjs.org.',
        'internal-registry.example.',
        '*.internal-registry.example.',
        'nightshift.internal.',
        '*.nightshift.internal.',
      ]) {
        expect(domains).toContain(JSON.stringify(name));
      }
      for (const name of [
        'bedrock-runtime.eu-west-1.amazonaws.com.',
        'dynamodb.eu-west-1.amazonaws.com.',
        '*.s3.eu-west-1.amazonaws.com.',
        'logs.eu-west-1.amazonaws.com.',
        'api.ecr.eu-west-1.amazonaws.com.',
        '*.dkr.ecr.eu-west-1.amazonaws.com.',
      ]) {
        expect(domains).toContain(JSON.stringify(name));
      }
      expect(domains.some((d) => d.includes('secretsmanager'))).toBe(false);
      template.resourcePropertiesCountIs('AWS::Route53Resolver::FirewallRuleGroup', {}, 1);
      template.hasResourceProperties('AWS::Route53Resolver::FirewallRuleGroup', {
        FirewallRules: [
          { Priority: 100, Action: 'ALLOW', FirewallDomainListId: allowed, FirewallDomainRedirectionAction: 'TRUST_REDIRECTION_DOMAIN' },
          { Priority: 200, Action: 'BLOCK', BlockResponse: 'NXDOMAIN', FirewallDomainListId: everything },
        ],
      });
    });

    it('Given the DNS Firewall rule group, Then it is associated with the runner VPC first among the account rule groups, and fails closed', () => {
      const [group] = Object.keys(template.findResources('AWS::Route53Resolver::FirewallRuleGroup'));
      template.resourceCountIs('AWS::Route53Resolver::FirewallRuleGroupAssociation', 1);
      template.hasResourceProperties('AWS::Route53Resolver::FirewallRuleGroupAssociation', {
        FirewallRuleGroupId: { 'Fn::GetAtt': [group, 'Id'] },
        VpcId: vpc,
        Priority: 100,
        MutationProtection: 'DISABLED',
      });
      template.resourceCountIs('AWS::Route53Resolver::FirewallConfig', 1);
      template.hasResourceProperties('AWS::Route53Resolver::FirewallConfig', { ResourceId: vpc, FirewallFailOpen: 'DISABLED' });
    });

    it('Given the runner VPC, Then every query is logged to a log group with retention', () => {
      const queryLogs = id(network.dnsFirewall.queryLogs);
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
      expect(template.findResources('AWS::Logs::LogGroup')[queryLogs]!.Properties.RetentionInDays).toBe(30);
      const [config] = Object.keys(template.findResources('AWS::Route53Resolver::ResolverQueryLoggingConfig'));
      template.hasResourceProperties('AWS::Route53Resolver::ResolverQueryLoggingConfig', {
        DestinationArn: { 'Fn::GetAtt': [queryLogs, 'Arn'] },
      });
      template.hasResourceProperties('AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation', {
        ResolverQueryLogConfigId: { 'Fn::GetAtt': [config, 'Id'] },
        ResourceId: vpc,
      });
    });

    it('Given an environment-agnostic stack, When it is synthesized, Then the region is spliced into the names at deploy', () => {
      const app = new App();
      const agnostic = new Stack(app, 'Agnostic');
      new Network(agnostic, 'Network', { maxAzs: 1, logRetention: logs.RetentionDays.ONE_MONTH, config });
      const domains = JSON.stringify(Template.fromStack(agnostic).findResources('AWS::Route53Resolver::FirewallDomainList'));
      expect(domains).not.toContain('zz-nightshift');
      expect(domains).toContain('{"Ref":"AWS::Region"}');
    });
  });

  it('Given maxAzs raised, When the stack is synthesized, Then runner subnets and interface endpoints are in every AZ', () => {
    const three = synth(3).template;
    three.resourceCountIs('AWS::EC2::Subnet', 6);
    three.resourceCountIs('AWS::EC2::NatGateway', 0);
  });
});
