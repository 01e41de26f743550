import { Match } from 'aws-cdk-lib/assertions';
import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';

/** A stack whose model is the Anthropic API: no Bedrock grant, the key for the broker only, the host on the proxy. */
describe('a stack with the anthropic model provider', () => {
  const config = testConfig(stackFixture, {
    model: {
      ...testConfig(stackFixture).model,
      provider: 'anthropic',
      id: 'claude-sonnet-4-5',
      apiKeySecret: 'nightshift/anthropic-api-key',
    },
  });
  const { template, stack } = synthesize({ config, prebuiltRunnerImage: true });
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
  }[];
  const statementsOfRole = (roleId: string) =>
    policies.filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId)).flatMap((p) => p.Properties.PolicyDocument.Statement);

  it('Given the synthesized stack, Then the runner task role has no Bedrock and no secret action and the runner is told its provider', () => {
    const taskRoleId = stack.getLogicalId(stack.runtime.taskRole.node.defaultChild as never);
    const actions = statementsOfRole(taskRoleId).flatMap((s) => [s.Action].flat());
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.startsWith('bedrock:'))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({ Name: 'runner', Environment: Match.arrayWith([{ Name: 'NIGHTSHIFT_MODEL', Value: 'anthropic' }]) }),
      ]),
    });
  });

  it('Given the synthesized stack, Then only the token broker may read the API key secret', () => {
    const brokerRoleId = stack.getLogicalId(stack.tokenBroker.function.role!.node.defaultChild as never);
    const readers = policies.filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('secret:nightshift/anthropic-api-key-??????'),
    );
    expect(readers.map((p) => p.Properties.Roles)).toEqual([[{ Ref: brokerRoleId }]]);
  });

  it('Given the synthesized stack, Then the egress proxy allows the API host and the DNS Firewall lets the VPC resolve it', () => {
    const proxy = Object.values(template.findResources('AWS::ECS::TaskDefinition')).find((r) =>
      JSON.stringify(r).includes('NIGHTSHIFT_SQUID_CONF'),
    )!;
    expect(JSON.stringify(proxy)).toContain('acl allow_default dstdomain -n api.anthropic.com');
    const lists = JSON.stringify(template.findResources('AWS::Route53Resolver::FirewallDomainList'));
    expect(lists).toContain('"api.anthropic.com."');
  });
});
