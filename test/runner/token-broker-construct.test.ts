import { Match } from 'aws-cdk-lib/assertions';
import { synthesize } from '../infra/synth';

describe('TokenBroker construct', () => {
  const { template, stack } = synthesize({ prebuiltRunnerImage: true });
  const brokerLogicalId = stack.getLogicalId(stack.tokenBroker.function.node.defaultChild as never);

  it('deploys the broker handler with the tables and read access to the App key only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Mints a GitHub token scoped to one RUNNING run and its repository',
      Environment: { Variables: Match.objectLike({ RUNS_TABLE: Match.anyValue() }) },
    });
    const brokerRoleId = stack.getLogicalId(stack.tokenBroker.function.role!.node.defaultChild as never);
    const policies = template.findResources('AWS::IAM::Policy');
    const secretGrants = Object.values(policies).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => [s.Resource].flat().map((resource) => ({ roles: p.Properties.Roles as unknown, secret: /:secret:([^"]+)/.exec(JSON.stringify(resource))?.[1] }))),
    );
    // The broker reads exactly the App key and the configured repo secrets, never a wildcard; the only other
    // secret readers are the GitHub webhook's two functions (test/infra/github-webhook.test.ts).
    const webhookRoles = [stack.githubWebhook!.function, stack.githubWebhook!.tokenBroker].map((fn) => JSON.stringify([{ Ref: stack.getLogicalId(fn.role!.node.defaultChild as never) }]));
    const brokerGrants = secretGrants.filter((g) => !webhookRoles.includes(JSON.stringify(g.roles)));
    expect(brokerGrants.map((g) => g.roles)).toEqual(brokerGrants.map(() => [{ Ref: brokerRoleId }]));
    expect(brokerGrants.map((g) => g.secret).sort()).toEqual(['nightshift/gh-key-??????', 'nightshift/npm-token-??????']);
  });

  it('lets only the runner task role invoke it, and tells the runner its name', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const invokers = Object.values(policies)
      .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('lambda:InvokeFunction') && JSON.stringify(p.Properties.PolicyDocument).includes(brokerLogicalId))
      .flatMap((p) => p.Properties.Roles as { Ref: string }[]);
    const taskRoleId = stack.getLogicalId(stack.runtime.taskRole.node.defaultChild as never);
    expect(invokers).toEqual([{ Ref: taskRoleId }]);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({ Name: 'runner', Environment: Match.arrayWith([{ Name: 'TOKEN_BROKER_FUNCTION', Value: { Ref: brokerLogicalId } }]) }),
      ]),
    });
  });
});
