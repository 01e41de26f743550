import * as z from 'zod';
import type { MeterCounts } from '../local/meter/platform-meter';
import { PRICES } from './prices';

/**
 * One run's platform overhead in dollars from counts taken in a real local run (bench/run-overhead.bench.ts
 * takes them; docs/cost.md shows them). Pure: the counts in, a priced line per billed dimension out.
 */
export interface RunCounts {
  /** State transitions of the run's execution (entered states plus retries, as Step Functions bills them). */
  transitions: number;
  /** DynamoDB units per table, Lambda invocations per handler module, SNS publishes (local/meter/). */
  meter: MeterCounts;
  /** Memory (MB) each handler module's function has in the synthesized template. */
  memoryMbByEntry: Record<string, number>;
  /** Bytes the handlers wrote to stdout and stderr (what Lambda sends to CloudWatch Logs). */
  handlerLogBytes: number;
  /** Bytes of the runner's log (the task's awslogs stream) and of the egress proxy's access log for the run. */
  runnerLogBytes: number;
  proxyLogBytes: number;
  /** Objects the runner stored (traces, checkpoints: one presigned S3 PUT each on AWS) and read back. */
  s3Puts: number;
  s3Gets: number;
  /** API requests the run needed (its submission). */
  apiRequests: number;
}

/** Where bench/run-overhead.bench.ts --record keeps its counts (in bench/), for bench/cost.ts. */
export const RUN_COUNTS_FILE = 'run-overhead.counts.json';

const Units = z.record(z.string(), z.number().nonnegative());
const Counts = z.object({
  transitions: z.number().int().nonnegative(),
  meter: z.object({
    dynamo: z.record(
      z.string(),
      z.object({ requests: Units, readUnits: z.number().nonnegative(), writeUnits: z.number().nonnegative(), indexWriteUnits: Units }),
    ),
    lambda: z.record(z.string(), z.object({ invocations: z.number().int().nonnegative(), durationMs: z.number().nonnegative() })),
    snsPublishes: z.number().int().nonnegative(),
  }),
  memoryMbByEntry: Units,
  handlerLogBytes: z.number().int().nonnegative(),
  runnerLogBytes: z.number().int().nonnegative(),
  proxyLogBytes: z.number().int().nonnegative(),
  s3Puts: z.number().int().nonnegative(),
  s3Gets: z.number().int().nonnegative(),
  apiRequests: z.number().int().nonnegative(),
});

/** The recorded file: one run's counts, one run-gauges tick's, and when, where and how they were taken. */
export const RecordedRunCounts = z.object({
  measuredAt: z.string(),
  machine: z.string(),
  command: z.string(),
  session: z.string(),
  run: Counts,
  gaugeTick: z.object({
    durationMs: z.number().nonnegative(),
    memoryMb: z.number().positive(),
    readUnits: z.number().nonnegative(),
    writeUnits: z.number().nonnegative(),
    logBytes: z.number().int().nonnegative(),
  }),
});
export type RecordedRunCounts = z.infer<typeof RecordedRunCounts>;

export interface PricedLine {
  readonly item: string;
  readonly quantity: string;
  readonly usd: number;
}

/**
 * What local mode cannot count, each with how it is estimated (docs/cost.md repeats them). The runner's
 * minutes are the typical run's, not the benchmark's (a replayed session takes seconds).
 */
export const RUN_ESTIMATES = {
  minutes: 20,
  lambdaPlatformLogBytes: 450, // Lambda's own records per invocation in the JSON log format (platform.start, platform.report)
  sfnLogEventsPerTransition: 4, // logging level ALL: a Task state logs entered, scheduled, started, succeeded, exited; a Choice entered, exited
  sfnLogEventBytes: 350, // one history event without execution data (IncludeExecutionData false)
  flowLogRecords: 300, // VPC flow log (ALL): one record per 5-tuple per 10-minute window, the runner's and the proxy's connections
  flowLogRecordBytes: 130,
  pullSeconds: 30, // Fargate bills from the image pull's start; the layers come through the free S3 gateway endpoint
  pullEndpointGb: 0.001, // manifests and auth through the ECR interface endpoints
  containerInsightsSeries: 22, // runner cluster with Container Insights: cluster and task-family series, billed by the hour they get data
  containerInsightsEventBytesPerMinute: 2_400, // one Task and one Container performance event a minute
  dnsQueries: 2_000, // package installs and git through the proxy (squid caches answers for their TTL), endpoint lookups
  dnsQueryLogBytes: 400, // one resolver query-log record (JSON)
} as const;

const GB = 1e9;

export function lambdaTotals(counts: Pick<RunCounts, 'meter' | 'memoryMbByEntry'>): { invocations: number; gbSeconds: number } {
  let invocations = 0;
  let gbSeconds = 0;
  for (const [entry, f] of Object.entries(counts.meter.lambda)) {
    const memoryMb = counts.memoryMbByEntry[entry];
    if (memoryMb === undefined) throw new Error(`no function in the template has handler module ${entry}: cannot price its invocations`);
    invocations += f.invocations;
    gbSeconds += (memoryMb / 1024) * (f.durationMs / 1000);
  }
  return { invocations, gbSeconds };
}

export function dynamoTotals(meter: MeterCounts): { readUnits: number; tableWriteUnits: number; indexWriteUnits: number } {
  let readUnits = 0;
  let tableWriteUnits = 0;
  let indexWriteUnits = 0;
  for (const t of Object.values(meter.dynamo)) {
    readUnits += t.readUnits;
    tableWriteUnits += t.writeUnits;
    for (const u of Object.values(t.indexWriteUnits)) indexWriteUnits += u;
  }
  return { readUnits, tableWriteUnits, indexWriteUnits };
}

/** The counted lines of one run's overhead, priced at PRICES. */
export function priceRun(counts: RunCounts): PricedLine[] {
  const lambda = lambdaTotals(counts);
  const dynamo = dynamoTotals(counts.meter);
  const writeUnits = dynamo.tableWriteUnits + dynamo.indexWriteUnits;
  const logBytes = counts.handlerLogBytes + counts.runnerLogBytes + counts.proxyLogBytes;
  const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
  return [
    { item: 'Step Functions transitions', quantity: String(counts.transitions), usd: counts.transitions * PRICES.stepFunctionsTransition },
    { item: 'Lambda requests', quantity: String(lambda.invocations), usd: lambda.invocations * PRICES.lambdaRequest },
    {
      item: 'Lambda duration (arm64, each function at its memory)',
      quantity: `${lambda.gbSeconds.toFixed(2)} GB-s`,
      usd: lambda.gbSeconds * PRICES.lambdaGbSecondArm,
    },
    {
      item: 'DynamoDB write request units (index copies included)',
      quantity: `${writeUnits} WRU (${dynamo.indexWriteUnits} index)`,
      usd: writeUnits * PRICES.dynamoWriteRequestUnit,
    },
    { item: 'DynamoDB read request units', quantity: `${dynamo.readUnits} RRU`, usd: dynamo.readUnits * PRICES.dynamoReadRequestUnit },
    {
      item: 'CloudWatch Logs ingestion (handlers, runner, proxy)',
      quantity: kb(logBytes),
      usd: (logBytes / GB) * PRICES.logsIngestGb,
    },
    // The runner's and the proxy's logs leave the isolated subnets through the Logs interface endpoint.
    {
      item: 'Logs interface endpoint data (runner and proxy logs)',
      quantity: kb(counts.runnerLogBytes + counts.proxyLogBytes),
      usd: ((counts.runnerLogBytes + counts.proxyLogBytes) / GB) * PRICES.endpointDataGb,
    },
    {
      item: 'SNS publishes (Lambda deliveries free)',
      quantity: String(counts.meter.snsPublishes),
      usd: counts.meter.snsPublishes * PRICES.snsPublish,
    },
    {
      item: 'S3 requests (PUT, GET)',
      quantity: `${counts.s3Puts} PUT, ${counts.s3Gets} GET`,
      usd: counts.s3Puts * PRICES.s3Put + counts.s3Gets * PRICES.s3Get,
    },
    { item: 'API Gateway HTTP API requests', quantity: String(counts.apiRequests), usd: counts.apiRequests * PRICES.httpApiRequest },
  ];
}

/** The lines local mode cannot count, estimated as RUN_ESTIMATES says; `transitions` and `invocations` are the counted ones. */
export function estimatedRunLines(input: {
  transitions: number;
  invocations: number;
  firewalled: boolean;
  logged: boolean;
  runner: { vcpu: number; memoryGb: number };
}): PricedLine[] {
  const e = RUN_ESTIMATES;
  const sfnLogBytes = input.transitions * e.sfnLogEventsPerTransition * e.sfnLogEventBytes;
  const lambdaLogBytes = input.invocations * e.lambdaPlatformLogBytes;
  const flowBytes = e.flowLogRecords * e.flowLogRecordBytes;
  const insightsBytes = e.minutes * e.containerInsightsEventBytesPerMinute;
  const taskHourUsd = input.runner.vcpu * PRICES.fargateVcpuHour + input.runner.memoryGb * PRICES.fargateGbHour;
  const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
  const queries = input.firewalled || input.logged ? e.dnsQueries : 0;
  const dnsUsd =
    (input.firewalled ? (queries / 1_000_000) * PRICES.dnsFirewallQueryMillion : 0) +
    (input.logged ? ((queries * e.dnsQueryLogBytes) / GB) * PRICES.logsIngestGb : 0);
  return [
    {
      item: "Lambda's own log records (~450 B per counted invocation)",
      quantity: kb(lambdaLogBytes),
      usd: (lambdaLogBytes / GB) * PRICES.logsIngestGb,
    },
    {
      item: 'Step Functions execution log, level ALL (~4 events of ~350 B per counted transition)',
      quantity: kb(sfnLogBytes),
      usd: (sfnLogBytes / GB) * PRICES.logsIngestGb,
    },
    { item: "X-Ray: the execution's trace (tracing on; 100,000 free a month)", quantity: '1 trace', usd: PRICES.xrayTrace },
    { item: 'VPC flow log (~300 records of ~130 B)', quantity: kb(flowBytes), usd: (flowBytes / GB) * PRICES.logsIngestGb },
    {
      item: 'Container Insights: performance events, 2.4 KB a minute',
      quantity: kb(insightsBytes),
      usd: (insightsBytes / GB) * PRICES.logsIngestGb,
    },
    {
      item: 'Container Insights: ~22 series for the hour of the run (shared by the runs of that hour)',
      quantity: '22 series-hours',
      usd: (e.containerInsightsSeries * PRICES.customMetricMonth) / 730,
    },
    {
      item: 'ECR pull through the interface endpoints (manifests; layers via the free S3 gateway)',
      quantity: `${e.pullEndpointGb} GB`,
      usd: e.pullEndpointGb * PRICES.endpointDataGb,
    },
    {
      item: 'Fargate time of the image pull and start (~30 s at the runner size)',
      quantity: `${e.pullSeconds} s`,
      usd: (e.pullSeconds / 3600) * taskHourUsd,
    },
    ...(queries > 0 ? [{ item: 'DNS Firewall queries + query log (~2,000 queries)', quantity: `${queries} queries`, usd: dnsUsd }] : []),
  ];
}

/** The runner task's compute for a typical run, charged to the run's budget (not platform overhead). */
export function runnerComputeLine(runner: { vcpu: number; memoryGb: number }): PricedLine {
  const minutes = RUN_ESTIMATES.minutes;
  return {
    item: `Runner compute (${runner.vcpu} vCPU, ${runner.memoryGb} GB, charged to the run's budget)`,
    quantity: `${minutes} min`,
    usd: (minutes / 60) * (runner.vcpu * PRICES.fargateVcpuHour + runner.memoryGb * PRICES.fargateGbHour),
  };
}
