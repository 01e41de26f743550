import { synthesize } from './synth';
import { stackFixture, testConfig } from '../support/test-config';
import { arnOf, decide, rolesOf, type Template } from './policy-simulation';

/**
 * Issue 10 item 2, the webhook token broker: it hands an issues-write token (or, with the PAT
 * fallback, the PAT) to whoever may invoke it, so only the webhook function may. Proved with the IAM
 * policy simulator on the synthesized policies, over every role of the stack and every way to name
 * the function (its ARN, a version, an alias), and no resource policy lets a service or account in.
 */
let template: Template;
let webhookRole: string;
let brokerId: string;
let brokerArn: string;
const logicalId = (construct: { node: { defaultChild?: unknown } }, stack: { getLogicalId(e: never): string }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

beforeAll(() => {
  const { json, stack } = synthesize({ config: testConfig(stackFixture), prebuiltRunnerImage: true });
  template = json as unknown as Template;
  webhookRole = logicalId(stack.githubWebhook!.function.role!, stack);
  brokerId = logicalId(stack.githubWebhook!.tokenBroker, stack);
  brokerArn = arnOf(template, brokerId);
});

describe('who may invoke the webhook token broker', () => {
  test('Given every role in the stack, Then per the policy simulator the webhook function alone may invoke it by its name, and no role by a version or alias', async () => {
    expect(rolesOf(template).length).toBeGreaterThan(10);
    for (const resource of [brokerArn, `${brokerArn}:1`, `${brokerArn}:$LATEST`, `${brokerArn}:live`]) {
      const invokers: string[] = [];
      for (const role of rolesOf(template))
        if ((await decide(template, role, { action: 'lambda:InvokeFunction', resource })) === 'Allowed') invokers.push(role);
      expect({ resource, invokers }).toEqual({ resource, invokers: resource === brokerArn ? [webhookRole] : [] });
    }
  });

  test('Given every role in the stack, Then none may change it, read its code, open it or call it by a function URL, and no resource policy opens it', async () => {
    for (const role of rolesOf(template)) {
      for (const action of [
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:GetFunction',
        'lambda:InvokeFunctionUrl',
        'lambda:AddPermission',
      ]) {
        expect({ role, action, decision: await decide(template, role, { action, resource: brokerArn }) }).not.toMatchObject({
          decision: 'Allowed',
        });
      }
    }
    const mentions = (value: unknown): boolean => JSON.stringify(value).includes(`"${brokerId}"`);
    const opened = Object.entries(template.Resources).filter(
      ([, r]) => (r.Type === 'AWS::Lambda::Permission' || r.Type === 'AWS::Lambda::Url') && mentions(r.Properties),
    );
    expect(opened).toEqual([]);
  });
});
