import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkpointObjectName, traceObjectName } from '../../core/runs/run-objects';

/**
 * Where a run's redacted trace (JSON lines) is kept: S3 in AWS (30-day lifecycle; through a PUT the
 * token broker presigns, runner/broker-run-data.ts), a directory locally. Each runner task of the run
 * keeps its own object: `trace.jsonl` for the first, `trace-<segment>.jsonl` for a task resumed after
 * a pause (docs/inbox.md).
 */
export interface TraceSink {
  /** Stores the whole trace of the run's task `segment` so far (replacing the previous copy) and returns where it is (s3:// URI or file path). */
  put(runId: string, body: string, segment?: number): Promise<string>;
}

/** Writes a file whole and atomically: a runner killed mid-write leaves the previous complete copy. */
function replaceFile(path: string, body: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const partial = `${path}.partial`;
  writeFileSync(partial, body, { mode: 0o600 });
  renameSync(partial, path);
}

export function directoryTraceSink(directory: string): TraceSink {
  return {
    async put(runId, body, segment = 1) {
      const path = join(directory, runId, traceObjectName(segment));
      replaceFile(path, body);
      return path;
    },
  };
}

/**
 * Where the checkpoints of a run's pauses are kept (the conversation, redacted, docs/inbox.md): beside its
 * trace, as `checkpoint-<itemId>.json`. In AWS through a presigned PUT and GET the broker issues for
 * that run's own checkpoint only (runner/broker-run-data.ts); locally the trace directory.
 */
export interface CheckpointStore {
  /** Stores the checkpoint of pause `itemId` and returns where it is. */
  put(runId: string, itemId: string, body: string): Promise<string>;
  /** Reads back the checkpoint of the pause the run resumes from. */
  read(runId: string, itemId: string): Promise<string>;
}

export function directoryCheckpointStore(directory: string): CheckpointStore {
  return {
    async put(runId, itemId, body) {
      const path = join(directory, runId, checkpointObjectName(itemId));
      replaceFile(path, body);
      return path;
    },
    async read(runId, itemId) {
      return readFileSync(join(directory, runId, checkpointObjectName(itemId)), 'utf8');
    },
  };
}
