import { createLedgerRunsTable, driveLedgerDay, dynamoItemBytes } from '../../bench/ledger-day-volume';
import { startDynalite, type DynaliteHarness } from '../support/dynalite';

/**
 * The day ledger at volume (issue 14 item 2): a day's items hold only the runs still active, so a day
 * of many runs costs each submission what the first ones cost. The day is driven through the ledger
 * API with `concurrency` runs in flight; LEDGER_SCALE_RUNS raises the volume (100000 for a whole day
 * at that rate; `npm run bench` prints the figures). The default keeps CI to seconds: the property is
 * that a settled run leaves nothing on its days, so the thousandth run pays what the fortieth paid.
 */
const runs = Number(process.env.LEDGER_SCALE_RUNS ?? 400);
const concurrency = 16;
const requesters = 20;

describe('the day ledger at volume', () => {
  let db: DynaliteHarness;
  beforeAll(async () => {
    db = await startDynalite();
    await createLedgerRunsTable(db.client, 'ledger-runs');
  });
  afterAll(async () => {
    await db.stop();
  });

  it(`Given ${runs} runs in one UTC day, ${concurrency} in flight, When each is submitted, run and settled, Then the day items stay bounded by the runs in flight and the last submission costs what the first did`, async () => {
    const result = await driveLedgerDay({
      doc: db.doc,
      names: { ...db.names, runs: 'ledger-runs' },
      day: '2031-03-03',
      runs,
      concurrency,
      requesters,
      sampleEvery: Math.ceil(runs / 10),
      window: 50,
      warmup: requesters * 2,
    });

    // Every run's unused budget came back exactly: the org day holds what was spent, and no run's entry.
    expect(result.orgCommittedMicros).toBe(result.spentMicros);
    expect(result.orgEntries).toBe(0);

    // An entry is about 35 bytes (a run id and an amount); the item never holds more than the runs in flight.
    const bound = 200 + concurrency * 40;
    for (const sample of result.samples) {
      expect(sample.orgDayBytes).toBeLessThanOrEqual(bound);
      expect(sample.requesterDayBytes).toBeLessThanOrEqual(bound);
    }
    // The previous format kept an entry per run for the day: it would be past the bound long before the end.
    expect(runs * 2 * 35).toBeGreaterThan(bound);
    const end = result.samples[result.samples.length - 1]!;
    // At the end of the day, with every run settled, the org day is the size of an empty day.
    expect(end.orgDayBytes).toBeLessThanOrEqual(200);

    // The same requests and capacity per submission at the start and at the end of the day.
    expect(result.last.requests).toBe(result.first.requests);
    expect(result.last.capacityUnits).toBe(result.first.capacityUnits);
    // Two conditional writes (the requester's day and the org's), one write unit each.
    expect(result.first).toEqual({ requests: 2, capacityUnits: 2 });
  }, 120_000);

  it('Given items of strings, maps and numbers, When they are sized, Then the size is as DynamoDB counts it: names plus values, numbers by their digits', () => {
    expect(dynamoItemBytes({ pk: 'ledger#org#2031-03-03', committedMicros: 123_456 })).toBe(2 + 21 + 15 + 4);
    expect(dynamoItemBytes({ reservations: { '01J0000000000000000000000A': 2_000_000 } })).toBe(12 + 3 + 1 + 26 + 2);
    expect(dynamoItemBytes({ n: 1_234_567 })).toBe(1 + 5);
  });
});
