/**
 * Public prices, us-east-1, on demand, USD (checked 2026-12-07; docs/cost.md lists them). Used by
 * bench/cost.ts (the template's idle floor) and bench/run-overhead-price.ts (a run's counted overhead).
 */
export const PRICES = {
  interfaceEndpointHour: 0.01, // per endpoint per AZ
  endpointDataGb: 0.01,
  natGatewayHour: 0.045,
  fargateVcpuHour: 0.04048, // Linux/x86
  fargateGbHour: 0.004445,
  publicIpv4Hour: 0.005,
  hostedZoneMonth: 0.5, // Cloud Map private DNS namespace = one Route 53 private hosted zone
  cloudMapInstanceMonth: 0.1,
  alarmMetricMonth: 0.1, // standard resolution, per metric an alarm evaluates (a metric-math alarm: each metric in it)
  dashboardMonth: 3, // beyond the account's 3 free dashboards
  customMetricMonth: 0.3, // first 10,000 metrics, beyond the account's 10 free
  freeCustomMetrics: 10,
  kmsKeyMonth: 1,
  secretMonth: 0.4,
  logsIngestGb: 0.5, // standard log class; vended logs (flow logs, Step Functions) the same for the first 10 TB
  dnsFirewallDomainMonth: 0.0009, // per domain-list entry
  dnsFirewallQueryMillion: 0.6, // per million queries inspected
  stepFunctionsTransition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaGbSecondArm: 0.0000133334,
  dynamoWriteRequestUnit: 0.625 / 1_000_000, // on demand since 2024-11-01 (was $1.25 per million)
  dynamoReadRequestUnit: 0.125 / 1_000_000, // (was $0.25 per million)
  snsPublish: 0.5 / 1_000_000, // standard topic; deliveries to Lambda are free
  httpApiRequest: 1 / 1_000_000, // API Gateway HTTP API, first 300 million a month
  xrayTrace: 5 / 1_000_000, // traces recorded, beyond the account's 100,000 free a month
  s3Put: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
} as const;
