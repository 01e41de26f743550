import { parseConfig } from '../../core/config/load';
import { alwaysOnMetricSeries, idleMonthly, perRunOverhead, recordedRunCounts, synthesizedTemplate } from '../../bench/cost';
import { metricCatalog } from '../../core/metrics/catalog';
import { minimalConfigFile } from '../support/minimal-config';

const config = (maxAzs: number, proxy: 'always-on' | 'on-demand' = 'always-on') =>
  parseConfig({ ...minimalConfigFile(), network: { maxAzs, proxy } });

describe('bench/cost.ts prices the synthesized template', () => {
  // $40 plus the runner's proxy credential ($0.40, a generated Secrets Manager secret), the inbox topic's KMS key ($1), the
  // alarms priced per metric they evaluate (11, not 7: $0.40 more) and the every-minute run gauges (about $0.07; docs/cost.md).
  it('Given the synthesized template with one AZ, When it is priced idle, Then the whole stack stays under $42/month, and with two AZs the endpoints double', () => {
    const template = synthesizedTemplate(config(1));
    const one = idleMonthly(template, recordedRunCounts().gaugeTick);
    const total = one.reduce((s, l) => s + l.usd, 0);
    // A metric-math alarm is billed for each metric in it: the failed-run ratio's four, the spend alarm's two.
    const alarms = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    const mathMetrics = alarms
      .flatMap((r) => (r.Properties?.Metrics as { MetricStat?: unknown }[] | undefined) ?? [])
      .filter((m) => m.MetricStat).length;
    const plain = alarms.filter((r) => !r.Properties?.Metrics).length;
    expect(mathMetrics).toBeGreaterThan(0);
    expect(one.find((l) => l.item.startsWith('CloudWatch alarms'))).toMatchObject({
      quantity: `${plain + mathMetrics} metrics`,
      usd: expect.closeTo((plain + mathMetrics) * 0.1, 9),
    });
    expect(one.find((l) => l.item.startsWith('Run gauges every minute'))).toMatchObject({ quantity: '43800 ticks' });
    expect(one.find((l) => l.item.startsWith('Interface endpoints'))).toMatchObject({ quantity: '3 endpoint-AZs' });
    expect(one.find((l) => l.item === 'NAT gateways')!.usd).toBe(0);
    expect(total).toBeLessThanOrEqual(42);
    expect(one.find((l) => l.item.startsWith('Secrets Manager'))).toMatchObject({ quantity: '1', usd: 0.4 });
    const two = idleMonthly(synthesizedTemplate(config(2)));
    expect(two.find((l) => l.item.startsWith('Interface endpoints'))).toMatchObject({ quantity: '6 endpoint-AZs' });
  });

  it('Given network.proxy on-demand with one AZ, When the stack is priced idle, Then the proxy task, its IPv4 address and Cloud Map instance are at zero and the floor is at most $30, DNS Firewall included', () => {
    const tick = recordedRunCounts().gaugeTick;
    const sum = (lines: { usd: number }[]) => lines.reduce((s, l) => s + l.usd, 0);
    const alwaysOn = idleMonthly(synthesizedTemplate(config(1)), tick);
    const onDemand = idleMonthly(synthesizedTemplate(config(1, 'on-demand')), tick);
    expect(onDemand.find((l) => l.item.startsWith('Fargate service'))).toMatchObject({ quantity: '0 task-hours', usd: 0 });
    expect(onDemand.find((l) => l.item.startsWith('Public IPv4'))!.usd).toBe(0);
    expect(onDemand.find((l) => l.item.startsWith('Cloud Map registered'))!.usd).toBe(0);
    expect(onDemand.find((l) => l.item.startsWith('DNS Firewall queries'))!.usd).toBeGreaterThan(0);
    expect(onDemand.find((l) => l.item.startsWith('Run gauges, on-demand proxy'))).toMatchObject({ quantity: '43800 RRU' });
    expect(sum(onDemand)).toBeLessThanOrEqual(30);
    // The difference is the proxy's hour price around the clock, less the idle clock's reads.
    expect(sum(alwaysOn) - sum(onDemand)).toBeCloseTo((0.25 * 0.04048 + 0.5 * 0.004445 + 0.005) * 730 + 0.1 - 43_800 * 0.125e-6, 6);
  });

  it('Given the DNS Firewall, When it is priced, Then it costs one entry-month per domain-list entry plus the queries inspected and their query log ingested', () => {
    const template = synthesizedTemplate(config(1));
    const entries = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Route53Resolver::FirewallDomainList')
      .reduce((n, r) => n + (r.Properties!.Domains as unknown[]).length, 0);
    expect(entries).toBeGreaterThan(20);
    const idle = idleMonthly(template);
    expect(idle.find((l) => l.item === 'DNS Firewall domain-list entries')).toEqual({
      item: 'DNS Firewall domain-list entries',
      quantity: `${entries} entries`,
      usd: entries * 0.0009,
    });
    expect(idle.find((l) => l.item.startsWith('DNS Firewall queries'))!.usd).toBeCloseTo(
      (100_000 / 1e6) * 0.6 + ((100_000 * 400) / 1e9) * 0.5,
      9,
    );
    const run = perRunOverhead(template, { vcpu: 1, memoryGb: 4 });
    expect(run.estimated.find((l) => l.item.startsWith('DNS Firewall queries'))!.usd).toBeCloseTo(
      (2_000 / 1e6) * 0.6 + ((2_000 * 400) / 1e9) * 0.5,
      9,
    );
  });

  it('Given the recorded run, When it is priced, Then every counted and estimated line is positive and the runner compute is 20 minutes of Fargate', () => {
    const run = perRunOverhead(synthesizedTemplate(config(1)), { vcpu: 1, memoryGb: 4 });
    expect(run.counted.find((l) => l.item === 'Step Functions transitions')).toMatchObject({
      quantity: String(recordedRunCounts().run.transitions),
    });
    for (const l of [...run.counted, ...run.estimated]) expect(l.usd).toBeGreaterThan(0);
    expect(run.compute.usd).toBeCloseTo((20 / 60) * (0.04048 + 4 * 0.004445), 6);
  });

  it('Given the metric catalog, Then the always-on custom metrics are the run gauges, one series each', () => {
    const gauges = Object.values(metricCatalog).filter((m) => (m.emittedBy as readonly string[]).includes('run-gauges'));
    expect(gauges.every((m) => m.dimensions.length === 0)).toBe(true);
    expect(alwaysOnMetricSeries()).toBe(gauges.length);
    expect(
      alwaysOnMetricSeries({ X: { unit: 'Count', dimensions: ['repo'], statistic: 'Sum', emittedBy: ['run-gauges'], description: '' } }),
    ).toBe(2);
  });
});
