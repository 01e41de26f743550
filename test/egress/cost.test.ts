import { parseConfig } from '../../core/config/load';
import { idleMonthly, perRunOverhead, synthesizedTemplate } from '../../bench/cost';

const config = (maxAzs: number) =>
  parseConfig({
    repos: [{ name: 'acme/web' }],
    model: { id: 'anthropic.claude', prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }, fargate: { vcpuHourUsd: 0.04, gbHourUsd: 0.004 } },
    github: { tokenSecret: 'nightshift/token' },
    network: { maxAzs },
  });

describe('bench/cost.ts prices the synthesized template', () => {
  // $40 plus the runner's proxy credential ($0.40, a generated Secrets Manager secret) and the inbox topic's KMS key ($1; docs/cost.md).
  it('Given the synthesized template with one AZ, When it is priced idle, Then the whole stack stays under $41.50/month, and with two AZs the endpoints double', () => {
    const one = idleMonthly(synthesizedTemplate(config(1)));
    const total = one.reduce((s, l) => s + l.usd, 0);
    expect(one.find((l) => l.item.startsWith('Interface endpoints'))).toMatchObject({ quantity: '3 endpoint-AZs' });
    expect(one.find((l) => l.item === 'NAT gateways')!.usd).toBe(0);
    expect(total).toBeLessThanOrEqual(41.5);
    expect(one.find((l) => l.item.startsWith('Secrets Manager'))).toMatchObject({ quantity: '1', usd: 0.4 });
    const two = idleMonthly(synthesizedTemplate(config(2)));
    expect(two.find((l) => l.item.startsWith('Interface endpoints'))).toMatchObject({ quantity: '6 endpoint-AZs' });
  });

  it('Given the DNS Firewall, When it is priced, Then it costs one entry-month per domain-list entry plus the queries inspected and their query log ingested', () => {
    const template = synthesizedTemplate(config(1));
    const entries = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Route53Resolver::FirewallDomainList')
      .reduce((n, r) => n + (r.Properties!.Domains as unknown[]).length, 0);
    expect(entries).toBeGreaterThan(20);
    const idle = idleMonthly(template);
    expect(idle.find((l) => l.item === 'DNS Firewall domain-list entries')).toEqual({ item: 'DNS Firewall domain-list entries', quantity: `${entries} entries`, usd: entries * 0.0009 });
    expect(idle.find((l) => l.item.startsWith('DNS Firewall queries'))!.usd).toBeCloseTo((100_000 / 1e6) * 0.6 + ((100_000 * 400) / 1e9) * 0.5, 9);
    const run = perRunOverhead(template, { vcpu: 1, memoryGb: 4 });
    expect(run.find((l) => l.item.startsWith('DNS Firewall queries'))!.usd).toBeCloseTo((2_000 / 1e6) * 0.6 + ((2_000 * 400) / 1e9) * 0.5, 9);
  });

  it('Given a 20-minute run, When it is priced, Then every line is positive and the runner compute is its Fargate time', () => {
    const lines = perRunOverhead(synthesizedTemplate(config(1)), { vcpu: 1, memoryGb: 4 });
    for (const l of lines) expect(l.usd).toBeGreaterThan(0);
    expect(lines.find((l) => l.item.startsWith('Runner compute'))!.usd).toBeCloseTo((20 / 60) * (0.04048 + 4 * 0.004445), 6);
  });
});
