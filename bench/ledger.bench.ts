import '../core/polyfills';
import { startDynalite } from '../test/support/dynalite';
import { createLedgerRunsTable, driveLedgerDay, dynamoItemBytes, type DayVolumeResult } from './ledger-day-volume';
import { runWhenMain } from './run-main';

/**
 * Runs/day at which submission cost changes (issue 14 item 2). A day of runs through the real ledger
 * on dynalite, metered with ReturnConsumedCapacity: what a submission costs at the start and the end
 * of the day, and the day items' size, at two numbers of runs in flight. A day item holds one entry
 * per active run and none per finished run, so the cost depends on the runs in flight, not on the
 * runs of the day. LEDGER_BENCH_RUNS sets the runs per day driven (default 1,000).
 */
const runsPerDay = Number(process.env.LEDGER_BENCH_RUNS ?? 1_000);

function line(label: string, result: DayVolumeResult): string {
  const maxOrg = Math.max(...result.samples.map((s) => s.orgDayBytes));
  const perSecond = (result.submits.length / (result.elapsedMs / 1000)).toFixed(0);
  return `${label}: submission ${result.first.requests} requests / ${result.first.capacityUnits} WCU at the start, ${result.last.requests} / ${result.last.capacityUnits} at the end; org day item at most ${maxOrg} B; ${result.submits.length} runs in ${(result.elapsedMs / 1000).toFixed(1)} s (${perSecond} runs/s on dynalite)`;
}

async function main(): Promise<void> {
  for (const concurrency of [16, 64]) {
    const db = await startDynalite();
    try {
      await createLedgerRunsTable(db.client, 'ledger-runs');
      const result = await driveLedgerDay({
        doc: db.doc,
        names: { ...db.names, runs: 'ledger-runs' },
        day: '2031-03-03',
        runs: runsPerDay,
        concurrency,
        requesters: 20,
        sampleEvery: Math.ceil(runsPerDay / 20),
        window: 100,
        warmup: 40 + concurrency,
      });
      process.stdout.write(`${line(`${runsPerDay} runs/day, ${concurrency} in flight`, result)}\n`);
    } finally {
      await db.stop();
    }
  }
  // One active run's entry on a day item: its ULID and its budget (2.03 USD here).
  const entryBytes = dynamoItemBytes({ reservations: { '01JF0000000000000000000000': 2_030_000 } }) - dynamoItemBytes({ reservations: {} });
  process.stdout.write(
    `runs/day at which submission cost changes: none (a finished run leaves no entry on its days). It changes with the runs in flight on one day: an entry is ${entryBytes} B, so each further ~${Math.floor(1024 / entryBytes)} runs in flight add 1 WCU to a write of that day item. The previous format kept every run of the day and failed at about 6,700 runs/day.\n`,
  );
}

runWhenMain(module, main);
