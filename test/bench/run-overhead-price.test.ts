import { estimatedRunLines, priceRun, RUN_ESTIMATES, type RunCounts } from '../../bench/run-overhead-price';

const counts: RunCounts = {
  transitions: 6,
  meter: {
    dynamo: {
      runs: { requests: { PutItem: 1, UpdateItem: 3 }, readUnits: 2.5, writeUnits: 8, indexWriteUnits: { byStatus: 8, byRepo: 4 } },
      events: { requests: { BatchWriteItem: 2 }, readUnits: 0, writeUnits: 20, indexWriteUnits: {} },
    },
    lambda: {
      'lambdas/orchestrator/admit.ts': { invocations: 1, durationMs: 200 },
      'lambdas/token-broker.ts': { invocations: 40, durationMs: 2_000 },
    },
    snsPublishes: 2,
  },
  memoryMbByEntry: { 'lambdas/orchestrator/admit.ts': 512, 'lambdas/token-broker.ts': 1024 },
  handlerLogBytes: 100_000,
  runnerLogBytes: 50_000,
  proxyLogBytes: 10_000,
  s3Puts: 3,
  s3Gets: 1,
  apiRequests: 1,
};

const line = (lines: { item: string; usd: number; quantity: string }[], prefix: string) => {
  const found = lines.find((l) => l.item.startsWith(prefix));
  if (!found) throw new Error(`no line ${prefix}`);
  return found;
};

describe('priceRun: counted overhead at public prices', () => {
  const lines = priceRun(counts);

  it('Given counted transitions, When they are priced, Then they cost $0.025 per 1,000', () => {
    expect(line(lines, 'Step Functions').usd).toBeCloseTo(6 * 0.000025, 12);
  });

  it('Given counted Lambda invocations, When they are priced, Then requests and GB-s are priced at each function’s memory', () => {
    expect(line(lines, 'Lambda requests')).toMatchObject({ quantity: '41', usd: expect.closeTo(41 * 0.2e-6, 12) });
    // admit: 0.5 GB × 0.2 s = 0.1; broker: 1 GB × 2 s = 2
    expect(line(lines, 'Lambda duration')).toMatchObject({ quantity: '2.10 GB-s', usd: expect.closeTo(2.1 * 0.0000133334, 12) });
  });

  it('Given counted DynamoDB units, When they are priced, Then index copies count as write units and reads and writes are priced on demand', () => {
    expect(line(lines, 'DynamoDB write')).toMatchObject({ quantity: '40 WRU (12 index)', usd: expect.closeTo(40 * 0.625e-6, 12) });
    expect(line(lines, 'DynamoDB read')).toMatchObject({ quantity: '2.5 RRU', usd: expect.closeTo(2.5 * 0.125e-6, 12) });
  });

  it('Given counted logs, endpoint data, SNS, S3 and API requests, When they are priced, Then each is priced at its rate', () => {
    expect(line(lines, 'CloudWatch Logs').usd).toBeCloseTo((160_000 / 1e9) * 0.5, 12);
    expect(line(lines, 'Logs interface endpoint').usd).toBeCloseTo((60_000 / 1e9) * 0.01, 12);
    expect(line(lines, 'SNS').usd).toBeCloseTo(2 * 0.5e-6, 12);
    expect(line(lines, 'S3').usd).toBeCloseTo(3 * 0.000005 + 0.0000004, 12);
    expect(line(lines, 'API Gateway').usd).toBeCloseTo(1e-6, 12);
  });

  it('Given a function whose memory the template does not name, When it is priced, Then it is refused', () => {
    expect(() => priceRun({ ...counts, memoryMbByEntry: {} })).toThrow(/lambdas\/orchestrator\/admit.ts/);
  });
});

describe('estimatedRunLines', () => {
  it('Given the counted transitions and invocations, When the estimates are made, Then the log estimates derive from them, and without a firewall the DNS line is dropped', () => {
    const lines = estimatedRunLines({
      transitions: 6,
      invocations: 41,
      firewalled: false,
      logged: false,
      runner: { vcpu: 1, memoryGb: 4 },
    });
    expect(line(lines, 'Step Functions execution log').usd).toBeCloseTo(
      ((6 * RUN_ESTIMATES.sfnLogEventsPerTransition * RUN_ESTIMATES.sfnLogEventBytes) / 1e9) * 0.5,
      12,
    );
    expect(line(lines, "Lambda's own log").usd).toBeCloseTo(((41 * RUN_ESTIMATES.lambdaPlatformLogBytes) / 1e9) * 0.5, 12);
    expect(lines.some((l) => l.item.startsWith('DNS'))).toBe(false);
    const firewalled = estimatedRunLines({
      transitions: 6,
      invocations: 41,
      firewalled: true,
      logged: true,
      runner: { vcpu: 1, memoryGb: 4 },
    });
    expect(line(firewalled, 'DNS').usd).toBeCloseTo((2_000 / 1e6) * 0.6 + ((2_000 * 400) / 1e9) * 0.5, 12);
  });
});
