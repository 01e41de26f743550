/**
 * Counts of what local mode does that AWS bills per request (bench/run-overhead.bench.ts prices them):
 * DynamoDB capacity units per table (index copies apart), Lambda invocations with their duration per
 * handler module, SNS publishes. Off unless a meter is passed to startLocalPlatform (`meter`): without
 * one nothing is wrapped or counted. State transitions come from the executor's own count
 * (`stateTransitions`), log and trace bytes from the files the run leaves.
 */
export interface TableCounts {
  /** Requests by operation (PutItem, Query, ...). */
  requests: Record<string, number>;
  /** Read capacity units, the table's and its indexes' (what a query of an index reads included). */
  readUnits: number;
  /** Write capacity units of the table's own items. */
  writeUnits: number;
  /** Write capacity units of the index copies, by index: each put, update and removal of an index entry. */
  indexWriteUnits: Record<string, number>;
}

export interface FunctionCounts {
  invocations: number;
  /** Sum of the invocations' durations, ms. */
  durationMs: number;
}

export interface MeterCounts {
  dynamo: Record<string, TableCounts>;
  /** By handler module (the function's `nightshift:entry`). */
  lambda: Record<string, FunctionCounts>;
  snsPublishes: number;
}

export class PlatformMeter {
  private counts: MeterCounts = PlatformMeter.empty();

  private static empty(): MeterCounts {
    return { dynamo: {}, lambda: {}, snsPublishes: 0 };
  }

  private table(name: string): TableCounts {
    let table = this.counts.dynamo[name];
    if (!table) {
      table = { requests: {}, readUnits: 0, writeUnits: 0, indexWriteUnits: {} };
      this.counts.dynamo[name] = table;
    }
    return table;
  }

  dynamoRequest(table: string, operation: string, units: { read: number; write: number }): void {
    const t = this.table(table);
    t.requests[operation] = (t.requests[operation] ?? 0) + 1;
    t.readUnits += units.read;
    t.writeUnits += units.write;
  }

  dynamoIndexWrite(table: string, index: string, units: number): void {
    const t = this.table(table);
    t.indexWriteUnits[index] = (t.indexWriteUnits[index] ?? 0) + units;
  }

  lambdaInvocation(entry: string, durationMs: number): void {
    const f = this.counts.lambda[entry] ?? { invocations: 0, durationMs: 0 };
    this.counts.lambda[entry] = f;
    f.invocations += 1;
    f.durationMs += durationMs;
  }

  snsPublish(): void {
    this.counts.snsPublishes += 1;
  }

  /** A copy of the counts so far. */
  snapshot(): MeterCounts {
    return structuredClone(this.counts);
  }

  /** Starts counting again from zero (after start-up, before the run to measure). */
  reset(): void {
    this.counts = PlatformMeter.empty();
  }
}
