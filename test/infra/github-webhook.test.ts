import { Match } from 'aws-cdk-lib/assertions';
import { ACCOUNT, arnOf, decide, REGION, rolesOf, type Template } from './policy-simulation';
import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';

describe('GithubWebhook construct', () => {
  const { template, stack, json } = synthesize({ prebuiltRunnerImage: true });
  const webhook = stack.githubWebhook!;
  const ref = (fn: { role?: { node: { defaultChild?: unknown } } }) => ({ Ref: stack.getLogicalId(fn.role!.node.defaultChild as never) });
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: unknown; PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] } };
  }[];

  it('Given the synthesized stack, Then POST /v1/webhooks/github has no authorizer, every other route keeps IAM, and the webhook URL is an output', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as {
      Properties: { RouteKey: string; AuthorizationType?: string };
    }[];
    const byKey = Object.fromEntries(routes.map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]));
    expect(byKey['POST /v1/webhooks/github']).toBe('NONE');
    for (const [key, type] of Object.entries(byKey))
      if (key !== 'POST /v1/webhooks/github') expect({ key, type }).toEqual({ key, type: 'AWS_IAM' });
    expect(JSON.stringify((json as { Outputs: unknown }).Outputs)).toContain('GithubWebhookUrl');
  });

  it('Given the synthesized stack, Then only the webhook function reads the webhook secret and it reads nothing else, and the webhook broker reads the App key, never a wildcard', () => {
    const readers = policies.flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).flatMap((s) =>
        [s.Resource]
          .flat()
          .map((r) => ({ roles: JSON.stringify(p.Properties.Roles), secret: /:secret:([^"]+)/.exec(JSON.stringify(r))?.[1] })),
      ),
    );
    expect(readers.filter((r) => r.secret === 'nightshift/gh-webhook-??????').map((r) => r.roles)).toEqual([
      JSON.stringify([ref(webhook.function)]),
    ]);
    expect(readers.filter((r) => r.roles === JSON.stringify([ref(webhook.function)])).map((r) => r.secret)).toEqual([
      'nightshift/gh-webhook-??????',
    ]);
    expect(readers.filter((r) => r.roles === JSON.stringify([ref(webhook.tokenBroker)])).map((r) => r.secret)).toEqual([
      'nightshift/gh-key-??????',
    ]);
  });

  it('Given the synthesized stack, Then only the webhook function may invoke the webhook broker, which it is told of, and the function writes only delivery markers to the idempotency table', () => {
    const brokerId = stack.getLogicalId(webhook.tokenBroker.node.defaultChild as never);
    const invokers = policies.filter((p) =>
      p.Properties.PolicyDocument.Statement.some(
        (s) => [s.Action].flat().includes('lambda:InvokeFunction') && JSON.stringify(s.Resource).includes(brokerId),
      ),
    );
    expect(invokers.map((p) => p.Properties.Roles)).toEqual([[ref(webhook.function)]]);
    const idempotencyId = stack.getLogicalId(stack.state.idempotency.node.defaultChild as never);
    const markerWrites = policies
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([ref(webhook.function)]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s) => JSON.stringify(s.Resource).includes(idempotencyId));
    expect(markerWrites).toEqual([
      expect.objectContaining({
        Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['github-delivery#*', 'github-body#*'] } },
      }),
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'POST /v1/webhooks/github: verifies, deduplicates and acts on GitHub deliveries',
      Timeout: 9,
      Environment: { Variables: Match.objectLike({ WEBHOOK_TOKEN_BROKER_FUNCTION: { Ref: brokerId } }) },
    });
  });

  it('Given the synthesized stack, Then one rule sends the end of every run execution (however it ended) to the webhook function, and only it, which EventBridge may invoke', () => {
    const fnId = stack.getLogicalId(webhook.function.node.defaultChild as never);
    const machineId = stack.getLogicalId(stack.orchestrator.stateMachine.node.defaultChild as never);
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as {
      Properties: { EventPattern: unknown; Targets: { Arn: unknown }[] };
    }[];
    const toFunction = rules.filter((r) => r.Properties.Targets.some((t) => JSON.stringify(t.Arn).includes(fnId)));
    expect(toFunction).toHaveLength(1);
    expect(toFunction[0]!.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: machineId }] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
  });

  it('Given every role in the stack, Then per the IAM policy simulator only the webhook function may invoke the webhook broker or read the webhook secret', async () => {
    const t = json as unknown as Template;
    const brokerArn = arnOf(t, stack.getLogicalId(webhook.tokenBroker.node.defaultChild as never));
    const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:nightshift/gh-webhook-AbCdEf`;
    const invokers: string[] = [];
    const readers: string[] = [];
    for (const role of rolesOf(t)) {
      if ((await decide(t, role, { action: 'lambda:InvokeFunction', resource: brokerArn })) === 'Allowed') invokers.push(role);
      if ((await decide(t, role, { action: 'secretsmanager:GetSecretValue', resource: secret })) === 'Allowed') readers.push(role);
    }
    const fnRole = stack.getLogicalId(webhook.function.role!.node.defaultChild as never);
    expect(invokers).toEqual([fnRole]);
    expect(readers).toEqual([fnRole]);
  });

  it('Given a config without a webhook secret, When the stack is synthesized, Then no webhook is deployed', () => {
    const { stack: without } = synthesize({
      prebuiltRunnerImage: true,
      config: testConfig(stackFixture, { github: { appId: 1, installationId: 2, privateKeySecret: 'nightshift/gh-key' } }),
    });
    expect(without.githubWebhook).toBeUndefined();
  });
});
