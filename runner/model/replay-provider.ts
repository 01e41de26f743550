import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { ConverseResponse } from './converse-response';
import type { ModelProvider } from './provider';

/** The recorded session ran out: the run asked for more model calls than were recorded. */
export class ReplayExhaustedError extends Error {
  constructor(
    readonly file: string,
    readonly recorded: number,
  ) {
    super(`replayed session ${file} has ${recorded} recorded responses and the run asked for response ${recorded + 1}`);
    this.name = 'ReplayExhaustedError';
  }
}

export class ReplayFileError extends Error {
  constructor(file: string, line: number, reason: string) {
    super(`replayed session ${file}, line ${line}: ${reason}`);
    this.name = 'ReplayFileError';
  }
}

/**
 * `replay:<file>` (SPEC §7): JSON lines, one Converse response per model call, returned in order.
 * It checks nothing about the request. Every run it serves says so (events and PR body).
 */
export class ReplayProvider implements ModelProvider {
  readonly kind = 'replay' as const;
  readonly description: string;
  private readonly responses: ConverseResponse[];
  private next = 0;
  /** The requests the runner built, for benchmarks and tests (replay never sends them anywhere). */
  readonly requests: unknown[] = [];

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
  }

  get recorded(): number {
    return this.responses.length;
  }

  async converse(request: unknown, signal: AbortSignal): Promise<ConverseResponse> {
    signal.throwIfAborted();
    this.requests.push(request);
    const response = this.responses[this.next];
    if (!response) throw new ReplayExhaustedError(this.file, this.responses.length);
    this.next += 1;
    return structuredClone(response);
  }
}
