import { closeSync, constants, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConverseResponse } from './converse-response';
import type { ModelProvider, ModelRequest } from './provider';
import { recordedOutputsFile } from './replay-provider';

/**
 * Records a live session in the replay format (docs/providers.md#recording-a-session): each response the wrapped provider returns
 * is appended to `file` as one Converse response per line, after `redact` (the run's redactor: known
 * secret values and token-shaped strings), and only then handed to the runner. A recorded file
 * replays with `NIGHTSHIFT_MODEL=replay:<file>`, so a real run becomes a regression test.
 *
 * Next to it, `<name>.outputs.json` holds every tool output the model saw (toolUseId → text, from the
 * tool results of each request), so a replay of the recording fails when a tool now answers
 * differently (runner/model/replay-provider.ts). It is rewritten after each call (a new file renamed
 * over the old one).
 *
 * The files are created new (never appended to or followed through a symbolic link) with mode 600.
 */
export class RecordingProvider implements ModelProvider {
  readonly kind: ModelProvider['kind'];
  readonly description: string;
  private fd: number | undefined;
  /** Responses written so far. */
  recorded = 0;
  private readonly outputs: Record<string, string> = {};
  private outputsWrites = 0;

  constructor(
    private readonly inner: ModelProvider,
    readonly file: string,
    private readonly redact: <T>(value: T) => T,
  ) {
    this.kind = inner.kind;
    this.description = `${inner.description}, recorded`;
    // Opened at once: a file that exists already or cannot be created fails the run before any call.
    this.fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    if (!fstatSync(this.fd).isFile()) throw new Error(`${file} is not a regular file`);
  }

  async converse(request: ModelRequest, signal: AbortSignal): Promise<ConverseResponse> {
    this.recordOutputs(request);
    const response = await this.inner.converse(request, signal);
    // Written before the runner acts on it: a run that crashes midway leaves every turn it took.
    const line = ConverseResponse.parse(this.redact(structuredClone(response)));
    if (this.fd === undefined) throw new Error(`the recording ${this.file} is closed`);
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    this.recorded++;
    return response;
  }

  /** The tool results this request carries, as the model sees them (already redacted by the runner; redacted again). */
  private recordOutputs(request: ModelRequest): void {
    let added = false;
    for (const message of request.messages ?? []) {
      if (message.role !== 'user') continue;
      for (const block of message.content ?? []) {
        const result = block.toolResult;
        if (!result?.toolUseId || result.toolUseId in this.outputs) continue;
        this.outputs[result.toolUseId] = this.redact((result.content ?? []).map((c) => c.text ?? '').join(''));
        added = true;
      }
    }
    if (!added) return;
    const target = recordedOutputsFile(this.file);
    const temp = `${target}.${process.pid}.${++this.outputsWrites}.tmp`;
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${JSON.stringify(this.outputs, null, 1)}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  }

  /**
   * A recorder writing to `<dir>/<name>.jsonl`, or `<name>-2.jsonl`, `-3`… when a file of that name
   * exists (a run resumed in a new task records each task's calls apart; nothing is overwritten).
   */
  static inDirectory(inner: ModelProvider, dir: string, name: string, redact: <T>(value: T) => T): RecordingProvider {
    for (let n = 1; ; n++) {
      const file = join(dir, n === 1 ? `${name}.jsonl` : `${name}-${n}.jsonl`);
      try {
        return new RecordingProvider(inner, file, redact);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 100) throw err;
      }
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
