import type { Redactor } from '../redaction';
import type { TraceSink } from './trace-sink';

export type TraceRecord =
  | {
      type: 'model_turn';
      turn: number;
      stopReason: string;
      usage: Record<string, number>;
      costMicros: number;
      durationMs: number;
      text: string;
      toolUses: { name: string; input: unknown }[];
    }
  | {
      type: 'tool_call';
      turn: number;
      name: string;
      input: unknown;
      durationMs: number;
      exitCode: number | null;
      isError: boolean;
      output: string;
    }
  | {
      type: 'test_result';
      phase: 'base' | 'head';
      command: string;
      passed: boolean;
      format: string;
      tests: Record<string, string>;
      output: string;
    }
  | { type: 'note'; message: string; detail?: Record<string, unknown> };

const MAX_FIELD_CHARS = 8_000;

function clip(value: unknown): unknown {
  if (typeof value === 'string')
    return value.length > MAX_FIELD_CHARS
      ? `${value.slice(0, MAX_FIELD_CHARS)}[... ${value.length - MAX_FIELD_CHARS} characters truncated]`
      : value;
  if (Array.isArray(value)) return value.map(clip);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clip(v)]));
  return value;
}

export interface TraceStorage {
  sink: TraceSink;
  runId: string;
  /** Store after this many new records (default 20)... */
  flushEveryRecords?: number;
  /** ...and at least this often while something is unstored (default 15 s), so a crash loses little. */
  flushEveryMs?: number;
  onError(err: unknown): void;
}

/**
 * The run's trace, redacted line by line as it is recorded (nothing unredacted is kept in memory),
 * and stored as it grows: the whole redacted body so far is written every N records and every few
 * seconds while unstored records wait, so a runner that crashes or is killed keeps most of its trace.
 * Writes are serialized; the last one wins (S3 PutObject and the file sink replace the object whole).
 */
export class RunTrace {
  private readonly lines: string[] = [];
  private counts = { modelTurns: 0, toolCalls: 0, testRuns: 0 };
  private unstored = 0;
  private writes: Promise<string | undefined> = Promise.resolve(undefined);
  private timer: NodeJS.Timeout | undefined;
  private location: string | undefined;
  private segment = 1;

  constructor(
    private readonly redactor: Redactor,
    private readonly storage?: TraceStorage,
  ) {}

  /** A resumed run's later tasks keep their own trace beside the first one's: trace-2.jsonl, trace-3.jsonl, ... */
  useSegment(segment: number): void {
    this.segment = segment;
  }

  record(entry: TraceRecord): void {
    if (entry.type === 'model_turn') this.counts.modelTurns++;
    if (entry.type === 'tool_call') this.counts.toolCalls++;
    if (entry.type === 'test_result') this.counts.testRuns++;
    this.lines.push(this.redactor.redact(JSON.stringify({ at: new Date().toISOString(), ...(clip(entry) as object) })));
    if (!this.storage) return;
    this.unstored++;
    if (this.unstored >= (this.storage.flushEveryRecords ?? 20)) void this.flush().catch(this.storage.onError);
    else this.timer ??= setTimeout(() => void this.flush().catch(this.storage!.onError), this.storage.flushEveryMs ?? 15_000).unref();
  }

  /** Stores everything recorded so far (after any write in flight); resolves with the trace's location. */
  flush(): Promise<string | undefined> {
    const storage = this.storage;
    if (!storage) return Promise.resolve(undefined);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.unstored;
    this.unstored = 0;
    const body = this.body();
    const write = this.writes
      .then(
        () => undefined,
        () => undefined,
      )
      .then(async () => {
        if (pending === 0 && this.location !== undefined) return this.location;
        this.location = await storage.sink.put(storage.runId, body, this.segment);
        return this.location;
      });
    this.writes = write.catch(() => undefined);
    return write;
  }

  body(): string {
    return this.lines.length ? `${this.lines.join('\n')}\n` : '';
  }

  summary(): { lines: number; modelTurns: number; toolCalls: number; testRuns: number } {
    return { lines: this.lines.length, ...this.counts };
  }
}
