/**
 * Idle monthly cost and per-run overhead of what the stack deploys: the idle floor from the synthesized
 * template, the metric catalog and one counted run-gauges tick; the per-run overhead from the counts
 * bench/run-overhead.bench.ts took in a real local run (bench/run-overhead.counts.json) plus the lines
 * local mode cannot count, estimated (bench/run-overhead-price.ts). Public on-demand prices, us-east-1,
 * USD (bench/prices.ts; docs/cost.md explains each line).
 * Run with `npx tsx bench/cost.ts [config file]`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../core/config/load';
import { metricCatalog, type MetricDefinition } from '../core/metrics/catalog';
import type { NightshiftConfig } from '../core/config/schema';
import { createApp } from '../infra/create-app';
import { PRICES } from './prices';
import { estimatedRunLines, priceRun, RecordedRunCounts, RUN_COUNTS_FILE, RUN_ESTIMATES, runnerComputeLine } from './run-overhead-price';
import { runWhenMain } from './run-main';

export const HOURS_PER_MONTH = 730;
export { PRICES };

/** DNS queries in the VPC with no run (the proxy's periodic lookups, the Fargate agent), per month: an estimate. */
export const IDLE_DNS_QUERIES_MONTH = 100_000;
/** One resolver query-log record (JSON), bytes: an estimate. */
export const DNS_QUERY_LOG_BYTES = 400;
/** VPC flow log records with no run: the proxy's connections (Logs endpoint, ECS agent), about 20 flows per 10-minute window, 130 B each: an estimate. */
export const IDLE_FLOW_LOG_BYTES_MONTH = 20 * 6 * HOURS_PER_MONTH * 130;

type Resource = { Type: string; Properties?: Record<string, unknown> };
export type CostTemplate = { Resources: Record<string, Resource> };

export interface CostLine {
  readonly item: string;
  readonly quantity: string;
  readonly usd: number;
}

function ofType(template: CostTemplate, type: string): Resource[] {
  return Object.values(template.Resources).filter((r) => r.Type === type);
}

function count(template: CostTemplate, type: string): number {
  return ofType(template, type).length;
}

/** A counted run-gauges tick (bench/run-overhead.counts.json). */
export type GaugeTick = RecordedRunCounts['gaugeTick'];

/** Idle monthly cost: everything billed by the hour or month whether or not a run happens; with `tick`, the every-minute run gauges too. */
export function idleMonthly(template: CostTemplate, tick?: GaugeTick): CostLine[] {
  const lines: CostLine[] = [];
  const interfaceEndpoints = ofType(template, 'AWS::EC2::VPCEndpoint').filter((r) => r.Properties?.VpcEndpointType === 'Interface');
  const endpointAzs = interfaceEndpoints.reduce((n, r) => n + ((r.Properties?.SubnetIds as unknown[] | undefined)?.length ?? 1), 0);
  lines.push({
    item: 'Interface endpoints (ECR api, ECR dkr, Logs) × AZs',
    quantity: `${endpointAzs} endpoint-AZs`,
    usd: endpointAzs * PRICES.interfaceEndpointHour * HOURS_PER_MONTH,
  });
  const nat = count(template, 'AWS::EC2::NatGateway');
  lines.push({ item: 'NAT gateways', quantity: String(nat), usd: nat * PRICES.natGatewayHour * HOURS_PER_MONTH });

  // Always-on Fargate services (the egress proxy): their task size × desired count. A service without a
  // desired count in the template is the on-demand proxy (network.proxy "on-demand"): with no run it is at 0.
  const taskDefs = new Map(Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition'));
  for (const service of ofType(template, 'AWS::ECS::Service')) {
    const props = service.Properties ?? {};
    const desired = props.DesiredCount === undefined ? 0 : Number(props.DesiredCount);
    const ref = props.TaskDefinition as { Ref?: string } | undefined;
    const task = ref?.Ref ? taskDefs.get(ref.Ref) : undefined;
    if (!task) throw new Error('a service whose task definition is not in the template: cannot price it');
    const vcpu = Number(task.Properties?.Cpu) / 1024;
    const gb = Number(task.Properties?.Memory) / 1024;
    if (!Number.isFinite(vcpu) || !Number.isFinite(gb)) throw new Error('a service task without a fixed Cpu/Memory: cannot price it');
    lines.push({
      item: `Fargate service (${vcpu} vCPU, ${gb} GB) × ${desired}`,
      quantity: `${desired * HOURS_PER_MONTH} task-hours`,
      usd: desired * HOURS_PER_MONTH * (vcpu * PRICES.fargateVcpuHour + gb * PRICES.fargateGbHour),
    });
    const network = props.NetworkConfiguration as { AwsvpcConfiguration?: { AssignPublicIp?: string } } | undefined;
    if (network?.AwsvpcConfiguration?.AssignPublicIp === 'ENABLED') {
      lines.push({
        item: 'Public IPv4 address of that service',
        quantity: String(desired),
        usd: desired * PRICES.publicIpv4Hour * HOURS_PER_MONTH,
      });
    }
    if (props.ServiceRegistries)
      lines.push({ item: 'Cloud Map registered instance', quantity: String(desired), usd: desired * PRICES.cloudMapInstanceMonth });
  }
  const zones = count(template, 'AWS::ServiceDiscovery::PrivateDnsNamespace') + count(template, 'AWS::Route53::HostedZone');
  lines.push({ item: 'Private hosted zones (Cloud Map namespace)', quantity: String(zones), usd: zones * PRICES.hostedZoneMonth });
  // An alarm is billed per metric it evaluates: a metric-math alarm for each metric in its expression.
  const alarms = ofType(template, 'AWS::CloudWatch::Alarm');
  const alarmMetrics = alarms.reduce(
    (n, r) =>
      n +
      (Array.isArray(r.Properties?.Metrics) ? (r.Properties.Metrics as { MetricStat?: unknown }[]).filter((m) => m.MetricStat).length : 1),
    0,
  );
  lines.push({
    item: `CloudWatch alarms (${alarms.length}), per metric evaluated`,
    quantity: `${alarmMetrics} metrics`,
    usd: alarmMetrics * PRICES.alarmMetricMonth,
  });
  const dashboards = count(template, 'AWS::CloudWatch::Dashboard');
  lines.push({
    item: "CloudWatch dashboards (free for an account's first 3)",
    quantity: String(dashboards),
    usd: dashboards * PRICES.dashboardMonth,
  });
  const keys = count(template, 'AWS::KMS::Key');
  lines.push({ item: 'KMS customer managed keys', quantity: String(keys), usd: keys * PRICES.kmsKeyMonth });
  const domains = ofType(template, 'AWS::Route53Resolver::FirewallDomainList').reduce(
    (n, r) => n + ((r.Properties?.Domains as unknown[] | undefined)?.length ?? 0),
    0,
  );
  lines.push({ item: 'DNS Firewall domain-list entries', quantity: `${domains} entries`, usd: domains * PRICES.dnsFirewallDomainMonth });
  const firewalled = count(template, 'AWS::Route53Resolver::FirewallRuleGroupAssociation') > 0;
  const logged = count(template, 'AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation') > 0;
  const idleQueries = firewalled || logged ? IDLE_DNS_QUERIES_MONTH : 0;
  lines.push({
    item: 'DNS Firewall queries + their query log (idle)',
    quantity: `${idleQueries} queries`,
    usd: dnsQueriesUsd(idleQueries, firewalled, logged),
  });
  const secrets = count(template, 'AWS::SecretsManager::Secret');
  lines.push({ item: 'Secrets Manager secrets created by the stack', quantity: String(secrets), usd: secrets * PRICES.secretMonth });
  const series = alwaysOnMetricSeries();
  const billedSeries = Math.max(0, series - PRICES.freeCustomMetrics);
  lines.push({
    item: `Custom metrics sent every minute with no run (the run gauges; ${PRICES.freeCustomMetrics} free per account)`,
    quantity: `${series} series`,
    usd: billedSeries * PRICES.customMetricMonth,
  });
  if (count(template, 'AWS::EC2::FlowLog') > 0) {
    lines.push({
      item: 'VPC flow log ingestion, idle (estimate: the proxy’s ~20 flows per 10 min)',
      quantity: `${(IDLE_FLOW_LOG_BYTES_MONTH / 1e6).toFixed(1)} MB`,
      usd: (IDLE_FLOW_LOG_BYTES_MONTH / 1e9) * PRICES.logsIngestGb,
    });
  }
  if (tick && onDemandProxy(template)) {
    // The counted tick is of an always-on proxy; on demand each tick also reads the idle clock (ECS DescribeServices is free).
    const ticks = ticksPerMonth(template);
    lines.push({
      item: 'Run gauges, on-demand proxy: the idle clock read each tick (1 RRU; DescribeServices is free)',
      quantity: `${ticks} RRU`,
      usd: ticks * PRICES.dynamoReadRequestUnit,
    });
  }
  if (tick) {
    const ticks = ticksPerMonth(template);
    if (ticks > 0) {
      const gbSeconds = ticks * (tick.memoryMb / 1024) * (Math.ceil(tick.durationMs) / 1000);
      const logBytes = ticks * (tick.logBytes + RUN_ESTIMATES.lambdaPlatformLogBytes);
      lines.push({
        item: 'Run gauges every minute: Lambda requests + GB-s (one tick counted)',
        quantity: `${ticks} ticks`,
        usd: ticks * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecondArm,
      });
      lines.push({
        item: 'Run gauges: DynamoDB reads (counted per tick)',
        quantity: `${ticks * tick.readUnits} RRU`,
        usd: ticks * (tick.readUnits * PRICES.dynamoReadRequestUnit + tick.writeUnits * PRICES.dynamoWriteRequestUnit),
      });
      lines.push({
        item: 'Run gauges: log ingestion (counted EMF and log lines + Lambda’s ~450 B)',
        quantity: `${(logBytes / 1e6).toFixed(1)} MB`,
        usd: (logBytes / 1e9) * PRICES.logsIngestGb,
      });
    }
  }
  return lines;
}

/** Whether the template's egress proxy is on demand: its service has no desired count (infra/constructs/egress-proxy.ts). */
export function onDemandProxy(template: CostTemplate): boolean {
  return ofType(template, 'AWS::ECS::Service').some((r) => r.Properties?.DesiredCount === undefined);
}

/**
 * What the on-demand proxy costs while it runs (its task, public IPv4 and Cloud Map instance), per hour:
 * a burst of runs adds it for the burst's length plus `network.proxyIdleMinutes`.
 */
export function proxyHourUsd(template: CostTemplate): number {
  const task = ofType(template, 'AWS::ECS::TaskDefinition').find((r) =>
    ((r.Properties?.ContainerDefinitions as { Name?: string }[] | undefined) ?? []).some((c) => c.Name === 'squid'),
  );
  if (!task) throw new Error('no egress proxy task definition in the template');
  const vcpu = Number(task.Properties?.Cpu) / 1024;
  const gb = Number(task.Properties?.Memory) / 1024;
  return vcpu * PRICES.fargateVcpuHour + gb * PRICES.fargateGbHour + PRICES.publicIpv4Hour + PRICES.cloudMapInstanceMonth / HOURS_PER_MONTH;
}

/**
 * Custom metric series written whether or not a run happens: the catalog's metrics only the run gauges
 * emit (every minute), each as its dimension sets (the empty set, then one per dimension: core/metrics/catalog.ts
 * validateMetricRecord) — the gauges have none, so one series each.
 */
export function alwaysOnMetricSeries(catalog: Record<string, MetricDefinition> = metricCatalog): number {
  return Object.values(catalog)
    .filter((m) => m.emittedBy.length === 1 && m.emittedBy[0] === 'run-gauges')
    .reduce((n, m) => n + 1 + m.dimensions.length, 0);
}

/** Invocations a month of the template's every-minute schedules (the run gauges). */
function ticksPerMonth(template: CostTemplate): number {
  const rules = ofType(template, 'AWS::Events::Rule').filter(
    (r) => r.Properties?.ScheduleExpression === 'rate(1 minute)' && r.Properties?.State !== 'DISABLED',
  );
  return rules.length * 60 * HOURS_PER_MONTH;
}

/** DNS Firewall inspection and CloudWatch Logs ingestion of the query log, for a number of queries. */
function dnsQueriesUsd(queries: number, firewalled: boolean, logged: boolean): number {
  const inspect = firewalled ? (queries / 1_000_000) * PRICES.dnsFirewallQueryMillion : 0;
  const log = logged ? ((queries * DNS_QUERY_LOG_BYTES) / 1e9) * PRICES.logsIngestGb : 0;
  return inspect + log;
}

/** The counts bench/run-overhead.bench.ts --record took (bench/run-overhead.counts.json). */
export function recordedRunCounts(file: string = join(__dirname, RUN_COUNTS_FILE)): RecordedRunCounts {
  return RecordedRunCounts.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** Overhead of one run beyond the model tokens: the counted lines, then the estimated ones, then the runner's compute. */
export function perRunOverhead(
  template: CostTemplate,
  runner: { vcpu: number; memoryGb: number },
  recorded: RecordedRunCounts = recordedRunCounts(),
): { counted: CostLine[]; estimated: CostLine[]; compute: CostLine } {
  const counted = priceRun(recorded.run);
  const invocations = Object.values(recorded.run.meter.lambda).reduce((n, f) => n + f.invocations, 0);
  const firewalled = count(template, 'AWS::Route53Resolver::FirewallRuleGroupAssociation') > 0;
  const logged = count(template, 'AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation') > 0;
  const estimated = estimatedRunLines({ transitions: recorded.run.transitions, invocations, firewalled, logged, runner });
  return { counted, estimated, compute: runnerComputeLine(runner) };
}

/** The whole app's template, built by the same factory as `cdk synth` (cdk-nag and cfn-guard off: only the resources matter here). */
export function synthesizedTemplate(config: NightshiftConfig): CostTemplate {
  const { app, stack } = createApp({ config, nag: false, guard: false });
  return app.synth().getStackArtifact(stack.artifactId).template as CostTemplate;
}

const usd = (n: number) => `$${n.toFixed(n < 0.01 ? 6 : n < 1 ? 4 : 2)}`;

export async function main(argv: string[] = process.argv.slice(2)): Promise<{ idleUsd: number; perRunUsd: number }> {
  const config = loadConfig(argv[0]);
  const template = synthesizedTemplate(config);
  const recorded = recordedRunCounts();
  const idle = idleMonthly(template, recorded.gaugeTick);
  const run = perRunOverhead(template, { vcpu: config.model.fargate.vcpu, memoryGb: config.model.fargate.memoryGb }, recorded);
  const sum = (lines: CostLine[]) => lines.reduce((s, l) => s + l.usd, 0);
  const idleUsd = sum(idle);
  const perRunUsd = sum(run.counted) + sum(run.estimated);
  const print = (title: string, lines: CostLine[], total?: number) => {
    process.stdout.write(`\n${title}\n`);
    for (const l of lines) process.stdout.write(`  ${l.item.padEnd(92)} ${l.quantity.padStart(22)} ${usd(l.usd).padStart(10)}\n`);
    if (total !== undefined) process.stdout.write(`  ${'total'.padEnd(92)} ${''.padStart(22)} ${usd(total).padStart(10)}\n`);
  };
  process.stdout.write(`Template: whole stack, maxAzs ${config.network.maxAzs}, prices us-east-1 on demand\n`);
  print(`Idle, per month (no runs), network.proxy "${config.network.proxy}"`, idle, idleUsd);
  // The other proxy mode, the same stack otherwise.
  const otherMode = config.network.proxy === 'on-demand' ? 'always-on' : 'on-demand';
  const other = synthesizedTemplate({ ...config, network: { ...config.network, proxy: otherMode } });
  const otherIdleUsd = sum(idleMonthly(other, recorded.gaugeTick));
  const onDemand = config.network.proxy === 'on-demand' ? template : other;
  const burst = (minutes: number) => ((minutes + config.network.proxyIdleMinutes) / 60) * proxyHourUsd(onDemand);
  process.stdout.write(
    `\nIdle floor per proxy mode: "${config.network.proxy}" ${usd(idleUsd)}, "${otherMode}" ${usd(otherIdleUsd)} a month` +
      `\n  on demand, the proxy runs ${usd(proxyHourUsd(onDemand))}/h while runs need it and for proxyIdleMinutes (${config.network.proxyIdleMinutes}) after:` +
      ` a lone ${RUN_ESTIMATES.minutes}-minute run adds ${usd(burst(RUN_ESTIMATES.minutes))}; always on breaks even at ${Math.round((730 * 60) / (RUN_ESTIMATES.minutes + config.network.proxyIdleMinutes))} such lone runs a month\n`,
  );
  process.stdout.write(
    `\nPer run overhead, model tokens excluded: counted in a real local run on ${recorded.measuredAt} (${recorded.command}; ${recorded.machine})\n`,
  );
  print('Counted', run.counted, sum(run.counted));
  print(
    `Estimated (local mode cannot count these; how: bench/run-overhead-price.ts RUN_ESTIMATES, a ${RUN_ESTIMATES.minutes}-minute run)`,
    run.estimated,
    sum(run.estimated),
  );
  process.stdout.write(
    `\n  ${'platform overhead per run (counted + estimated)'.padEnd(92)} ${''.padStart(22)} ${usd(perRunUsd).padStart(10)}\n`,
  );
  print("Charged to the run's own budget", [run.compute]);
  return { idleUsd, perRunUsd };
}

runWhenMain(module, main);
