import type { Redactor } from '../redaction';

export type TraceRecord =
  | { type: 'model_turn'; turn: number; stopReason: string; usage: Record<string, number>; costMicros: number; durationMs: number; text: string; toolUses: { name: string; input: unknown }[] }
  | { type: 'tool_call'; turn: number; name: string; input: unknown; durationMs: number; exitCode: number | null; isError: boolean; output: string }
  | { type: 'test_result'; phase: 'base' | 'head'; command: string; passed: boolean; format: string; tests: Record<string, string>; output: string }
  | { type: 'note'; message: string; detail?: Record<string, unknown> };

const MAX_FIELD_CHARS = 8_000;

function clip(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_FIELD_CHARS ? `${value.slice(0, MAX_FIELD_CHARS)}[... ${value.length - MAX_FIELD_CHARS} characters truncated]` : value;
  if (Array.isArray(value)) return value.map(clip);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clip(v)]));
  return value;
}

/** The run's trace, redacted line by line as it is recorded (nothing unredacted is kept in memory). */
export class RunTrace {
  private readonly lines: string[] = [];
  private counts = { modelTurns: 0, toolCalls: 0, testRuns: 0 };

  constructor(private readonly redactor: Redactor) {}

  record(entry: TraceRecord): void {
    if (entry.type === 'model_turn') this.counts.modelTurns++;
    if (entry.type === 'tool_call') this.counts.toolCalls++;
    if (entry.type === 'test_result') this.counts.testRuns++;
    this.lines.push(this.redactor.redact(JSON.stringify({ at: new Date().toISOString(), ...(clip(entry) as object) })));
  }

  body(): string {
    return this.lines.length ? `${this.lines.join('\n')}\n` : '';
  }

  summary(): { lines: number; modelTurns: number; toolCalls: number; testRuns: number } {
    return { lines: this.lines.length, ...this.counts };
  }
}
