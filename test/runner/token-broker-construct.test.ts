import { Match } from 'aws-cdk-lib/assertions';
import { synthesize } from '../infra/synth';

describe('TokenBroker construct', () => {
  const { template, stack } = synthesize({ prebuiltRunnerImage: true });
  const brokerLogicalId = stack.getLogicalId(stack.tokenBroker.function.node.defaultChild as never);

  it('Given the synthesized stack, Then the broker handler is deployed with the tables, and only it reads named secrets: the App key and the repo secrets, never a wildcard', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: "The runner's broker: run-key checked GitHub tokens, repo secrets and run data for one run",
      Environment: { Variables: Match.objectLike({ RUNS_TABLE: Match.anyValue(), TRACES_BUCKET: Match.anyValue() }) },
    });
    const brokerRoleId = stack.getLogicalId(stack.tokenBroker.function.role!.node.defaultChild as never);
    const policies = template.findResources('AWS::IAM::Policy');
    const secretGrants = Object.values(policies).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .flatMap((s) =>
          [s.Resource]
            .flat()
            .map((resource) => ({ roles: p.Properties.Roles as unknown, secret: /:secret:([^"]+)/.exec(JSON.stringify(resource))?.[1] })),
        ),
    );
    // Only the broker's role reads named secrets, exactly the App key and the configured repo secrets, never a wildcard;
    // the only other readers of named secrets are the GitHub webhook's two functions (test/infra/github-webhook.test.ts)
    // and the branch facts function, which reads the App key only (test/infra/branch-facts-iam.test.ts).
    const webhookRoles = [stack.githubWebhook!.function, stack.githubWebhook!.tokenBroker, stack.branchFacts.function].map((fn) =>
      JSON.stringify([{ Ref: stack.getLogicalId(fn.role!.node.defaultChild as never) }]),
    );
    const named = secretGrants.filter((g) => g.secret !== undefined && !webhookRoles.includes(JSON.stringify(g.roles)));
    expect(named.map((g) => g.roles)).toEqual(named.map(() => [{ Ref: brokerRoleId }]));
    expect(named.map((g) => g.secret).sort()).toEqual(['nightshift/gh-key-??????', 'nightshift/npm-token-??????']);
    // The one other secret is the stack's own proxy credential, read by ECS for the squid and runner
    // containers at start (their execution roles), never by a task role.
    const credentialId = stack.getLogicalId(stack.network.egressProxy.runnerCredential.node.defaultChild as never);
    const executionRoles = [
      stack.runtime.taskDefinition.obtainExecutionRole(),
      stack.network.egressProxy.service.taskDefinition.obtainExecutionRole(),
    ].map((r) => ({ Ref: stack.getLogicalId(r.node.defaultChild as never) }));
    const others = secretGrants.filter((g) => g.secret === undefined);
    expect(
      JSON.stringify(others.flatMap((g) => g.roles as unknown[]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))),
    ).toBe(JSON.stringify([...executionRoles].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))));
    const otherResources = Object.values(policies).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((st) => [st.Action].flat().includes('secretsmanager:GetSecretValue') && !/:secret:/.test(JSON.stringify(st.Resource)))
        .map((st) => st.Resource),
    );
    expect(otherResources).toEqual(otherResources.map(() => ({ Ref: credentialId })));
  });

  it('Given the synthesized stack, Then only the runner task role may invoke the broker, and the runner is told its name', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const invokers = Object.values(policies)
      .filter(
        (p) =>
          JSON.stringify(p.Properties.PolicyDocument).includes('lambda:InvokeFunction') &&
          JSON.stringify(p.Properties.PolicyDocument).includes(brokerLogicalId),
      )
      .flatMap((p) => p.Properties.Roles as { Ref: string }[]);
    const taskRoleId = stack.getLogicalId(stack.runtime.taskRole.node.defaultChild as never);
    expect(invokers).toEqual([{ Ref: taskRoleId }]);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({
          Name: 'runner',
          Environment: Match.arrayWith([{ Name: 'TOKEN_BROKER_FUNCTION', Value: { Ref: brokerLogicalId } }]),
        }),
      ]),
    });
  });
});
