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
  it('keeps the whole stack idle under $40/month with one AZ and scales endpoints with AZs', () => {
    const one = idleMonthly(synthesizedTemplate(config(1)));
    const total = one.reduce((s, l) => s + l.usd, 0);
    expect(one.find((l) => l.item.startsWith('Interface endpoints'))).toMatchObject({ quantity: '3 endpoint-AZs' });
    expect(one.find((l) => l.item === 'NAT gateways')!.usd).toBe(0);
    expect(total).toBeLessThanOrEqual(40);
    const two = idleMonthly(synthesizedTemplate(config(2)));
    expect(two.find((l) => l.item.startsWith('Interface endpoints'))).toMatchObject({ quantity: '6 endpoint-AZs' });
  });

  it('prices a 20-minute run with every line positive', () => {
    const lines = perRunOverhead(synthesizedTemplate(config(1)), { vcpu: 1, memoryGb: 4 });
    for (const l of lines) expect(l.usd).toBeGreaterThan(0);
    expect(lines.find((l) => l.item.startsWith('Runner compute'))!.usd).toBeCloseTo((20 / 60) * (0.04048 + 4 * 0.004445), 6);
  });
});
