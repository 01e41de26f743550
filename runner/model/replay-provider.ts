import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as z from 'zod';
import { ConverseResponse } from './converse-response';
import { InvalidModelRequestError, ModelRequestRejectedError } from './model-errors';
import type { ModelProvider, ModelRequest } from './provider';
import { converseRequestViolations } from './request-rules';

/** The recorded session ran out: the run asked for more model calls than were recorded (nothing was billed). */
export class ReplayExhaustedError extends ModelRequestRejectedError {
  constructor(
    readonly file: string,
    readonly recorded: number,
  ) {
    super(`replayed session ${file} has ${recorded} recorded responses and the run asked for response ${recorded + 1}`);
    this.name = 'ReplayExhaustedError';
  }
}

/**
 * A tool output the run produced differs from what the recording's model saw: the recorded responses
 * no longer answer this runner's conversation, and a tool change that alters what the model sees
 * needs a live re-run (and a new recording).
 */
export class ReplayDivergedError extends ModelRequestRejectedError {
  constructor(
    readonly file: string,
    readonly toolUseId: string,
    readonly recorded: string,
    readonly actual: string,
  ) {
    super(
      `replayed session ${file}: the output of tool call ${toolUseId} differs from the recording (recorded ${JSON.stringify(recorded.slice(0, 200))}, now ${JSON.stringify(actual.slice(0, 200))})`,
    );
    this.name = 'ReplayDivergedError';
  }
}

/** `<session>.outputs.json` next to a recording: toolUseId → the tool output the recorded model saw. */
const RecordedOutputs = z.record(z.string(), z.string());

export function recordedOutputsFile(sessionFile: string): string {
  return sessionFile.replace(/\.jsonl$/, '.outputs.json');
}

export class ReplayFileError extends Error {
  constructor(file: string, line: number, reason: string) {
    super(`replayed session ${file}, line ${line}: ${reason}`);
    this.name = 'ReplayFileError';
  }
}

/**
 * `replay:<file>` (docs/providers.md#recording-a-session): JSON lines, one Converse response per model call, returned in order.
 * Each request must pass the Converse request rules (request-rules.ts) first, as Bedrock would
 * demand: every test session checks the requests the runner builds. Every run it serves says so
 * (events and PR body).
 */
export class ReplayProvider implements ModelProvider {
  readonly kind = 'replay' as const;
  readonly description: string;
  private readonly responses: ConverseResponse[];
  private next = 0;
  /** The requests the runner built, for benchmarks and tests (replay never sends them anywhere). */
  readonly requests: unknown[] = [];
  /** The tool outputs the recorded model saw, when the recording has them. */
  private readonly outputs: Record<string, string> | undefined;

  constructor(readonly file: string) {
    this.description = `replayed session (${basename(file)})`;
    const lines = readFileSync(file, 'utf8').split('\n');
    this.responses = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (err) {
        throw new ReplayFileError(file, i + 1, `not JSON: ${(err as Error).message}`);
      }
      const parsed = ConverseResponse.safeParse(json);
      if (!parsed.success) throw new ReplayFileError(file, i + 1, z.prettifyError(parsed.error));
      this.responses.push(parsed.data);
    });
    const outputsFile = recordedOutputsFile(file);
    if (existsSync(outputsFile)) {
      const parsed = RecordedOutputs.safeParse(JSON.parse(readFileSync(outputsFile, 'utf8')));
      if (!parsed.success) throw new ReplayFileError(outputsFile, 1, z.prettifyError(parsed.error));
      this.outputs = parsed.data;
    }
  }

  /** Every tool result in the request must be what the recorded model saw (when the recording says). */
  private checkOutputs(request: unknown): void {
    if (!this.outputs) return;
    const messages =
      (request as { messages?: { content?: { toolResult?: { toolUseId?: string; content?: { text?: string }[] } }[] }[] }).messages ?? [];
    const last = messages[messages.length - 1];
    for (const block of last?.content ?? []) {
      const result = block.toolResult;
      if (!result?.toolUseId || !(result.toolUseId in this.outputs)) continue;
      const actual = (result.content ?? []).map((c) => c.text ?? '').join('');
      const recorded = this.outputs[result.toolUseId]!;
      if (actual !== recorded) throw new ReplayDivergedError(this.file, result.toolUseId, recorded, actual);
    }
  }

  get recorded(): number {
    return this.responses.length;
  }

  /** A resumed run: the first `calls` responses were served to the run's earlier tasks. */
  continueAfter(calls: number): void {
    this.next = Math.max(this.next, calls);
  }

  /** Responses served so far (the run's tasks together, once resumed). */
  get served(): number {
    return this.next;
  }

  async converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    signal.throwIfAborted();
    this.requests.push(request);
    const violations = converseRequestViolations(request);
    if (violations.length > 0) throw new InvalidModelRequestError('Converse', violations);
    this.checkOutputs(request);
    const response = this.responses[this.next];
    if (!response) throw new ReplayExhaustedError(this.file, this.responses.length);
    this.next += 1;
    return structuredClone(response);
  }
}
