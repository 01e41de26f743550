import { Match } from 'aws-cdk-lib/assertions';
import { PROXY_SERVICE_ENV } from '../../adapters/ecs/proxy-service';
import type { NightshiftStack } from '../../infra/stack';
import { stackFixture, testConfig } from '../support/test-config';
import { arnOf, decide, rolesOf, type Template } from './policy-simulation';
import { synthesize, type Synthesized } from './synth';

/**
 * Issue 14 item 6: `network.proxy: "on-demand"` lets the platform set the proxy service's desired
 * count, and only the two functions that must: Admit starts it, the run gauges stop it. Always on, the
 * template keeps one task and no function may touch the service.
 */
const roleOf = (stack: NightshiftStack, fn: { role?: unknown }) =>
  stack.getLogicalId((fn.role as { node: { defaultChild: never } }).node.defaultChild);
const proxyServiceId = (template: Template) =>
  Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::ECS::Service' && id.includes('EgressProxy'))![0];

describe('the egress proxy always on (the default)', () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize({ config: testConfig(stackFixture), prebuiltRunnerImage: true });
  });

  it('Given the default configuration, When the stack is synthesized, Then the proxy service keeps one task and no function is told its name', () => {
    synthesized.template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1, ServiceRegistries: Match.anyValue() });
    const functions = synthesized.template.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions))
      expect(Object.keys((fn.Properties?.Environment?.Variables as Record<string, unknown> | undefined) ?? {})).not.toContain(
        PROXY_SERVICE_ENV.service,
      );
  });

  it('Given the default configuration, Then per the policy simulator no role may change the proxy service', async () => {
    const template = synthesized.json as unknown as Template;
    const service = arnOf(template, proxyServiceId(template));
    for (const role of rolesOf(template))
      expect(await decide(template, role, { action: 'ecs:UpdateService', resource: service })).not.toBe('Allowed');
  });
});

describe('the egress proxy on demand', () => {
  let synthesized: Synthesized;
  let template: Template;
  let service: string;
  beforeAll(() => {
    synthesized = synthesize({
      config: testConfig(stackFixture, { network: { proxy: 'on-demand', proxyIdleMinutes: 10 } }),
      prebuiltRunnerImage: true,
    });
    template = synthesized.json as unknown as Template;
    service = arnOf(template, proxyServiceId(template));
  });

  it('Given network.proxy on-demand, When the stack is synthesized, Then the proxy service has no desired count in the template (a deploy keeps the one the platform set)', () => {
    const services = Object.entries(template.Resources).filter(([id, r]) => r.Type === 'AWS::ECS::Service' && id.includes('EgressProxy'));
    expect(services).toHaveLength(1);
    expect(services[0]![1].Properties).not.toHaveProperty('DesiredCount');
  });

  it('Given network.proxy on-demand, Then Admit and the run gauges are told the proxy cluster and service, and no other function is', () => {
    const { stack } = synthesized;
    const named = Object.entries(synthesized.template.findResources('AWS::Lambda::Function'))
      .filter(([, fn]) => PROXY_SERVICE_ENV.service in ((fn.Properties?.Environment?.Variables as object | undefined) ?? {}))
      .map(([id]) => id)
      .sort();
    const expected = [stack.orchestrator.admitFunction, stack.operations.runGaugesFunction]
      .map((fn) => stack.getLogicalId(fn.node.defaultChild as never))
      .sort();
    expect(named).toEqual(expected);
  });

  it('Given network.proxy on-demand, Then per the policy simulator Admit and the run gauges may describe and scale the proxy service, and nothing else of ECS services', async () => {
    const { stack } = synthesized;
    const otherService = service.replace(/service\/cluster\/.*/, 'service/cluster/SomeoneElsesService');
    for (const fn of [stack.orchestrator.admitFunction, stack.operations.runGaugesFunction]) {
      const role = roleOf(stack, fn);
      for (const action of ['ecs:DescribeServices', 'ecs:UpdateService'])
        expect(await decide(template, role, { action, resource: service })).toBe('Allowed');
      expect(await decide(template, role, { action: 'ecs:UpdateService', resource: otherService })).not.toBe('Allowed');
      for (const action of ['ecs:DeleteService', 'ecs:CreateService'])
        expect(await decide(template, role, { action, resource: service })).not.toBe('Allowed');
    }
    const allowed = new Set([stack.orchestrator.admitFunction, stack.operations.runGaugesFunction].map((fn) => roleOf(stack, fn)));
    for (const role of rolesOf(template).filter((r) => !allowed.has(r)))
      expect(await decide(template, role, { action: 'ecs:UpdateService', resource: service })).not.toBe('Allowed');
  });

  it("Given network.proxy on-demand, Then per the policy simulator the run gauges may write the proxy's idle clock and no other flag, and the runner may not", async () => {
    const { stack } = synthesized;
    const control = arnOf(template, stack.getLogicalId(stack.state.control.node.defaultChild as never));
    const gauges = roleOf(stack, stack.operations.runGaugesFunction);
    const write = (key: string) => ({ action: 'dynamodb:PutItem', resource: control, context: { 'dynamodb:LeadingKeys': [key] } });
    expect(await decide(template, gauges, write('proxy#idle'))).toBe('Allowed');
    expect(await decide(template, gauges, { ...write('proxy#idle'), action: 'dynamodb:DeleteItem' })).toBe('Allowed');
    expect(await decide(template, gauges, write('flag#intake'))).not.toBe('Allowed');
    const runner = stack.getLogicalId(stack.runtime.taskDefinition.taskRole.node.defaultChild as never);
    expect(await decide(template, runner, write('proxy#idle'))).not.toBe('Allowed');
  });
});
