import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Where a run's redacted trace (JSON lines) is kept: S3 in AWS (30-day lifecycle; through a PUT the
 * token broker presigns, runner/broker-run-data.ts), a directory locally.
 */
export interface TraceSink {
  /** Stores the whole trace so far (replacing the previous copy) and returns where it is (s3:// URI or file path). */
  put(runId: string, body: string): Promise<string>;
}

export function directoryTraceSink(directory: string): TraceSink {
  return {
    async put(runId, body) {
      const path = join(directory, runId, 'trace.jsonl');
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Replaced whole and atomically: a runner killed mid-write leaves the previous complete trace.
      const partial = `${path}.partial`;
      writeFileSync(partial, body, { mode: 0o600 });
      renameSync(partial, path);
      return path;
    },
  };
}
