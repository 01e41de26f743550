/**
 * Idle monthly cost and per-run overhead of what the stack deploys, computed from the synthesized
 * template with the public on-demand prices below (us-east-1, USD; docs/cost.md explains each line).
 * Run with `npx tsx bench/cost.ts [config file]`.
 */
import { loadConfig } from '../core/config/load';
import type { NightshiftConfig } from '../core/config/schema';
import { createApp } from '../infra/create-app';
import { runWhenMain } from './run-main';

export const HOURS_PER_MONTH = 730;

/** Public prices, us-east-1, on demand. Keep docs/cost.md in step. */
export const PRICES = {
  interfaceEndpointHour: 0.01, // per endpoint per AZ
  endpointDataGb: 0.01,
  natGatewayHour: 0.045,
  fargateVcpuHour: 0.04048, // Linux/x86
  fargateGbHour: 0.004445,
  publicIpv4Hour: 0.005,
  hostedZoneMonth: 0.5, // Cloud Map private DNS namespace = one Route 53 private hosted zone
  cloudMapInstanceMonth: 0.1,
  alarmMonth: 0.1, // standard-resolution metric alarm
  dashboardMonth: 3, // beyond the account's 3 free dashboards
  kmsKeyMonth: 1,
  secretMonth: 0.4,
  logsIngestGb: 0.5,
  dnsFirewallDomainMonth: 0.0009, // per domain-list entry
  dnsFirewallQueryMillion: 0.6, // per million queries inspected
  stepFunctionsTransition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaGbSecondArm: 0.0000133334,
  dynamoWriteRequest: 0.625 / 1_000_000,
  dynamoReadRequest: 0.125 / 1_000_000,
  s3Put: 0.005 / 1000,
} as const;

/** What a typical 20-minute run does (assumptions, stated in docs/cost.md). */
export const RUN_ASSUMPTIONS = {
  minutes: 20,
  imageGb: 1.5, // runner image pulled through the ECR interface endpoint (layers come through the free S3 gateway endpoint, manifests through the endpoint)
  runnerLogGb: 0.01,
  proxyLogGb: 0.001,
  // admission, finalize, API reads, and the token broker: the runner's every run-data read and write
  // (events, ledger reservations and settlements, status, trace uploads) is one broker call
  lambdaInvocations: 512,
  lambdaGbSeconds: 512 * 0.5 * 0.1,
  dynamoWrites: 300, // events, ledger reservations and settlements, status moves
  dynamoReads: 200,
  s3Puts: 5, // trace
  dnsQueries: 2_000, // package installs and git through the proxy (squid caches answers for their TTL), endpoint lookups
  dnsQueryLogBytes: 400, // one resolver query-log record (JSON)
} as const;

/** DNS queries in the VPC with no run (the proxy's periodic lookups, the Fargate agent), per month. */
export const IDLE_DNS_QUERIES_MONTH = 100_000;

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

/** Idle monthly cost: everything billed by the hour or month whether or not a run happens. */
export function idleMonthly(template: CostTemplate): CostLine[] {
  const lines: CostLine[] = [];
  const interfaceEndpoints = ofType(template, 'AWS::EC2::VPCEndpoint').filter((r) => r.Properties?.VpcEndpointType === 'Interface');
  const endpointAzs = interfaceEndpoints.reduce((n, r) => n + ((r.Properties?.SubnetIds as unknown[] | undefined)?.length ?? 1), 0);
  lines.push({ item: 'Interface endpoints (ECR api, ECR dkr, Logs) × AZs', quantity: `${endpointAzs} endpoint-AZs`, usd: endpointAzs * PRICES.interfaceEndpointHour * HOURS_PER_MONTH });
  const nat = count(template, 'AWS::EC2::NatGateway');
  lines.push({ item: 'NAT gateways', quantity: String(nat), usd: nat * PRICES.natGatewayHour * HOURS_PER_MONTH });

  // Always-on Fargate services (the egress proxy): their task size × desired count.
  const taskDefs = new Map(Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition'));
  for (const service of ofType(template, 'AWS::ECS::Service')) {
    const props = service.Properties ?? {};
    const desired = Number(props.DesiredCount ?? 1);
    const ref = props.TaskDefinition as { Ref?: string } | undefined;
    const task = ref?.Ref ? taskDefs.get(ref.Ref) : undefined;
    if (!task) throw new Error('a service whose task definition is not in the template: cannot price it');
    const vcpu = Number(task.Properties?.Cpu) / 1024;
    const gb = Number(task.Properties?.Memory) / 1024;
    if (!Number.isFinite(vcpu) || !Number.isFinite(gb)) throw new Error('a service task without a fixed Cpu/Memory: cannot price it');
    lines.push({ item: `Fargate service (${vcpu} vCPU, ${gb} GB) × ${desired}`, quantity: `${desired * HOURS_PER_MONTH} task-hours`, usd: desired * HOURS_PER_MONTH * (vcpu * PRICES.fargateVcpuHour + gb * PRICES.fargateGbHour) });
    const network = props.NetworkConfiguration as { AwsvpcConfiguration?: { AssignPublicIp?: string } } | undefined;
    if (network?.AwsvpcConfiguration?.AssignPublicIp === 'ENABLED') {
      lines.push({ item: 'Public IPv4 address of that service', quantity: String(desired), usd: desired * PRICES.publicIpv4Hour * HOURS_PER_MONTH });
    }
    if (props.ServiceRegistries) lines.push({ item: 'Cloud Map registered instance', quantity: String(desired), usd: desired * PRICES.cloudMapInstanceMonth });
  }
  const zones = count(template, 'AWS::ServiceDiscovery::PrivateDnsNamespace') + count(template, 'AWS::Route53::HostedZone');
  lines.push({ item: 'Private hosted zones (Cloud Map namespace)', quantity: String(zones), usd: zones * PRICES.hostedZoneMonth });
  const alarms = count(template, 'AWS::CloudWatch::Alarm');
  lines.push({ item: 'CloudWatch alarms', quantity: String(alarms), usd: alarms * PRICES.alarmMonth });
  const dashboards = count(template, 'AWS::CloudWatch::Dashboard');
  lines.push({ item: 'CloudWatch dashboards (free for an account\'s first 3)', quantity: String(dashboards), usd: dashboards * PRICES.dashboardMonth });
  const keys = count(template, 'AWS::KMS::Key');
  lines.push({ item: 'KMS customer managed keys', quantity: String(keys), usd: keys * PRICES.kmsKeyMonth });
  const domains = ofType(template, 'AWS::Route53Resolver::FirewallDomainList').reduce((n, r) => n + ((r.Properties?.Domains as unknown[] | undefined)?.length ?? 0), 0);
  lines.push({ item: 'DNS Firewall domain-list entries', quantity: `${domains} entries`, usd: domains * PRICES.dnsFirewallDomainMonth });
  const firewalled = count(template, 'AWS::Route53Resolver::FirewallRuleGroupAssociation') > 0;
  const logged = count(template, 'AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation') > 0;
  const idleQueries = firewalled || logged ? IDLE_DNS_QUERIES_MONTH : 0;
  lines.push({ item: 'DNS Firewall queries + their query log (idle)', quantity: `${idleQueries} queries`, usd: dnsQueriesUsd(idleQueries, firewalled, logged) });
  const secrets = count(template, 'AWS::SecretsManager::Secret');
  lines.push({ item: 'Secrets Manager secrets created by the stack', quantity: String(secrets), usd: secrets * PRICES.secretMonth });
  return lines;
}

/** DNS Firewall inspection and CloudWatch Logs ingestion of the query log, for a number of queries. */
function dnsQueriesUsd(queries: number, firewalled: boolean, logged: boolean): number {
  const inspect = firewalled ? (queries / 1_000_000) * PRICES.dnsFirewallQueryMillion : 0;
  const log = logged ? ((queries * RUN_ASSUMPTIONS.dnsQueryLogBytes) / 1e9) * PRICES.logsIngestGb : 0;
  return inspect + log;
}

/** States in the run state machine: a run passes through each about once (waits loop a few more times). */
function stateCount(template: CostTemplate): number {
  const machines = ofType(template, 'AWS::StepFunctions::StateMachine');
  if (machines.length === 0) return 0;
  const text = JSON.stringify(machines.map((m) => m.Properties?.DefinitionString ?? m.Properties?.Definition));
  return (text.match(/\\+"Type\\+":/g) ?? []).length;
}

/** Overhead of one run beyond the model tokens and the runner's own compute. */
export function perRunOverhead(template: CostTemplate, runner: { vcpu: number; memoryGb: number }): CostLine[] {
  const a = RUN_ASSUMPTIONS;
  const transitions = Math.max(stateCount(template), 10) * 2;
  const endpointGb = a.imageGb + a.runnerLogGb;
  const firewalled = count(template, 'AWS::Route53Resolver::FirewallRuleGroupAssociation') > 0;
  const logged = count(template, 'AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation') > 0;
  return [
    { item: 'Step Functions transitions', quantity: String(transitions), usd: transitions * PRICES.stepFunctionsTransition },
    { item: 'Lambda (requests + GB-s)', quantity: `${a.lambdaInvocations} calls`, usd: a.lambdaInvocations * PRICES.lambdaRequest + a.lambdaGbSeconds * PRICES.lambdaGbSecondArm },
    { item: 'DynamoDB on-demand writes + reads', quantity: `${a.dynamoWrites} W, ${a.dynamoReads} R`, usd: a.dynamoWrites * PRICES.dynamoWriteRequest + a.dynamoReads * PRICES.dynamoReadRequest },
    { item: 'CloudWatch Logs ingestion (runner + proxy)', quantity: `${a.runnerLogGb + a.proxyLogGb} GB`, usd: (a.runnerLogGb + a.proxyLogGb) * PRICES.logsIngestGb },
    { item: 'Interface endpoint data (image pull, logs)', quantity: `${endpointGb} GB`, usd: endpointGb * PRICES.endpointDataGb },
    { item: 'S3 trace PUTs', quantity: String(a.s3Puts), usd: a.s3Puts * PRICES.s3Put },
    ...(firewalled || logged ? [{ item: 'DNS Firewall queries + query log ingestion', quantity: `${a.dnsQueries} queries`, usd: dnsQueriesUsd(a.dnsQueries, firewalled, logged) }] : []),
    {
      item: `Runner compute (${runner.vcpu} vCPU, ${runner.memoryGb} GB, charged to the run's budget)`,
      quantity: `${a.minutes} min`,
      usd: (a.minutes / 60) * (runner.vcpu * PRICES.fargateVcpuHour + runner.memoryGb * PRICES.fargateGbHour),
    },
  ];
}

/** The whole app's template, built by the same factory as `cdk synth` (cdk-nag and cfn-guard off: only the resources matter here). */
export function synthesizedTemplate(config: NightshiftConfig): CostTemplate {
  const { app, stack } = createApp({ config, nag: false, guard: false });
  return app.synth().getStackArtifact(stack.artifactId).template as CostTemplate;
}

const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;

export async function main(argv: string[] = process.argv.slice(2)): Promise<{ idleUsd: number; perRunUsd: number }> {
  const config = loadConfig(argv[0]);
  const template = synthesizedTemplate(config);
  const idle = idleMonthly(template);
  const run = perRunOverhead(template, { vcpu: config.model.fargate.vcpu, memoryGb: config.model.fargate.memoryGb });
  const idleUsd = idle.reduce((s, l) => s + l.usd, 0);
  const perRunUsd = run.reduce((s, l) => s + l.usd, 0);
  const print = (title: string, lines: CostLine[], total: number) => {
    process.stdout.write(`\n${title}\n`);
    for (const l of lines) process.stdout.write(`  ${l.item.padEnd(72)} ${l.quantity.padStart(18)} ${usd(l.usd).padStart(10)}\n`);
    process.stdout.write(`  ${'total'.padEnd(72)} ${''.padStart(18)} ${usd(total).padStart(10)}\n`);
  };
  process.stdout.write(`Template: whole stack, maxAzs ${config.network.maxAzs}, prices us-east-1 on demand\n`);
  print('Idle, per month (no runs)', idle, idleUsd);
  print(`Per run overhead (${RUN_ASSUMPTIONS.minutes}-minute run, model tokens excluded)`, run, perRunUsd);
  return { idleUsd, perRunUsd };
}

runWhenMain(module, main);
