import { AsyncLocalStorage } from 'node:async_hooks';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createStore } from '../adapters/dynamodb';
import type { RunRecord } from '../core/store/ports';
import { controlItemKey, type TableNames } from '../adapters/dynamodb/tables';
import { runIdGenerator } from '../core/runs/run-id';

/**
 * A day of runs driven through the budget ledger, as submit, the runner and finalize call it: each run
 * reserves its budget on its requester's day and the org's day, is stored, reserves and settles one
 * model call, and is settled. It meters what each submission costs (requests and the capacity units
 * DynamoDB reports with ReturnConsumedCapacity, which dynalite computes from item sizes like DynamoDB)
 * and the size of the day items as the day fills. Shared by test/store/ledger-scale.test.ts (which
 * asserts on it) and bench/ledger.bench.ts (which prints it).
 */

export interface SubmitCost {
  requests: number;
  capacityUnits: number;
}

export interface DayVolumeSample {
  /** Runs submitted so far this day. */
  runs: number;
  /** DynamoDB item size of the org day, and the largest requester day, in bytes. */
  orgDayBytes: number;
  requesterDayBytes: number;
}

export interface DayVolumeResult {
  /** Per-submission cost of the first (after the warm-up) and the last `window` submissions, each averaged. */
  first: SubmitCost;
  last: SubmitCost;
  /** Every submission's cost, in order of submission. */
  submits: SubmitCost[];
  samples: DayVolumeSample[];
  /** What the org day holds at the end: the sum of what the runs spent, and entries of active runs. */
  orgCommittedMicros: number;
  spentMicros: number;
  orgEntries: number;
  elapsedMs: number;
}

/** An item's size as DynamoDB counts it: attribute names plus values (numbers ~1 byte per 2 digits). */
export function dynamoItemBytes(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') {
    const digits = String(Math.abs(value)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 0);
  if (typeof value === 'object')
    return 3 + Object.entries(value as Record<string, unknown>).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k) + valueBytes(v), 0);
  throw new Error(`cannot size a ${typeof value}`);
}

/** Counts the requests and consumed capacity of every operation run inside `meter.measure`. */
function meterRequests(doc: DynamoDBDocumentClient) {
  const current = new AsyncLocalStorage<SubmitCost>();
  doc.middlewareStack.add(
    (next) => async (args) => {
      const cost = current.getStore();
      if (!cost) return next(args);
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      cost.requests += 1;
      cost.capacityUnits += (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity?.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'ledgerDayVolumeMeter' },
  );
  return {
    async measure(work: () => Promise<void>): Promise<SubmitCost> {
      const cost: SubmitCost = { requests: 0, capacityUnits: 0 };
      await current.run(cost, work);
      return cost;
    },
  };
}

/**
 * A runs table with the runs table's key and none of its indexes: the ledger reads and writes run items
 * by key only, and dynalite maintains every index copy on each write, which would time the indexes
 * rather than the ledger (their cost on DynamoDB is in docs/cost.md).
 */
export async function createLedgerRunsTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'runId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'runId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

function average(costs: SubmitCost[]): SubmitCost {
  const n = Math.max(1, costs.length);
  return { requests: costs.reduce((s, c) => s + c.requests, 0) / n, capacityUnits: costs.reduce((s, c) => s + c.capacityUnits, 0) / n };
}

export async function driveLedgerDay(options: {
  doc: DynamoDBDocumentClient;
  names: TableNames;
  day: string;
  runs: number;
  /** Runs in flight at once (submitted and not yet settled). */
  concurrency: number;
  requesters: number;
  sampleEvery: number;
  /** Submissions averaged at each end; the first window starts after `warmup` (the day items' first writes create them). */
  window: number;
  warmup: number;
}): Promise<DayVolumeResult> {
  const { doc, names, day } = options;
  const meter = meterRequests(doc);
  const { ledger, runs } = createStore(doc, names);
  // Limits no day of this volume reaches: what is measured is the cost of the writes, not a refusal.
  const limits = { requesterDailyMicros: 1_000_000_000_000, orgDailyMicros: 1_000_000_000_000 };
  const nextId = runIdGenerator();
  const submits: SubmitCost[] = new Array(options.runs);
  const samples: DayVolumeSample[] = [];
  const requesterName = (i: number) => `arn:aws:iam::123456789012:user/dev-${i % options.requesters}`;
  let spentMicros = 0;

  async function dayBytes(pk: string): Promise<number> {
    const { Item } = await doc.send(new GetCommand({ TableName: names.control, Key: { pk }, ConsistentRead: true }));
    return Item ? dynamoItemBytes(Item) : 0;
  }
  async function sample(submitted: number): Promise<void> {
    const requesterBytes = await Promise.all(
      Array.from({ length: Math.min(options.requesters, 4) }, (_, i) => dayBytes(controlItemKey.requesterDay(requesterName(i), day))),
    );
    samples.push({
      runs: submitted,
      orgDayBytes: await dayBytes(controlItemKey.orgDay(day)),
      requesterDayBytes: Math.max(...requesterBytes),
    });
  }

  async function oneRun(i: number): Promise<void> {
    const requester = requesterName(i);
    const runId = nextId();
    const budgetMicros = 2_000_000 + (i % 7) * 10_000;
    submits[i] = await meter.measure(() => ledger.reserveRun({ runId, requester, day, budgetMicros, limits }));
    const record: RunRecord = {
      runId,
      kind: 'run',
      repo: 'acme/widgets',
      status: 'QUEUED',
      outcome: null,
      source: 'api',
      requester,
      prompt: 'bump lodash and fix what breaks',
      baseBranch: null,
      branch: null,
      issue: null,
      labels: [],
      createdAt: `${day}T12:00:00.000Z`,
      startedAt: null,
      finishedAt: null,
      prUrl: null,
      maxMinutes: 60,
      queuePosition: null,
      cancelRequested: false,
      error: null,
      tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
      budgetMicros,
      spentMicros: 0,
      ledgerDay: day,
      settled: false,
      requestHash: null,
      thread: null,
    };
    await runs.create(record);
    await ledger.reserveCall(runId, 'turn-0001', 300_000);
    const actual = 100_000 + (i % 13) * 1_000;
    await ledger.settleCall(runId, 'turn-0001', actual, { input: 1_000, output: 100, cacheRead: 0, cacheWrite: 0 });
    await ledger.settleRun(runId);
    spentMicros += actual;
  }

  const started = Date.now();
  let next = 0;
  await sample(0);
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.runs) {
        const i = next++;
        await oneRun(i);
        if ((i + 1) % options.sampleEvery === 0) await sample(i + 1);
      }
    }),
  );
  const elapsedMs = Date.now() - started;
  await sample(options.runs);
  const { Item: org } = await doc.send(
    new GetCommand({ TableName: names.control, Key: { pk: controlItemKey.orgDay(day) }, ConsistentRead: true }),
  );
  return {
    first: average(submits.slice(options.warmup, options.warmup + options.window)),
    last: average(submits.slice(-options.window)),
    submits,
    samples,
    orgCommittedMicros: Number(org?.committedMicros ?? Number.NaN),
    spentMicros,
    orgEntries: Object.keys((org?.reservations as Record<string, number> | undefined) ?? {}).length,
    elapsedMs,
  };
}
