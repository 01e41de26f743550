import { RunId } from './schemas';

/**
 * The objects a run keeps beside its records (S3 in AWS, `runs/<runId>/` of the traces bucket; the
 * trace directory locally): one trace per runner task, and the checkpoint of each pause. Names are
 * built here from validated parts only, so no caller-written string ever becomes a key or a path.
 */

/** At most this many runner tasks per run (the first, plus one per pause: core/inbox/paused-run.ts bounds pauses). */
export const MAX_TASK_SEGMENTS = 999;

/** The trace of the run's task `segment`: `trace.jsonl` for the first task, `trace-<n>.jsonl` for a task resumed after a pause. */
export function traceObjectName(segment = 1): string {
  if (!Number.isInteger(segment) || segment < 1 || segment > MAX_TASK_SEGMENTS) throw new Error(`not a task segment: ${segment}`);
  return segment === 1 ? 'trace.jsonl' : `trace-${segment}.jsonl`;
}

/** The checkpoint (conversation, redacted) of the pause that is inbox item `itemId`. */
export function checkpointObjectName(itemId: string): string {
  if (!RunId.safeParse(itemId).success) throw new Error(`not an inbox item id: ${JSON.stringify(itemId).slice(0, 40)}`);
  return `checkpoint-${itemId}.json`;
}

/** The object key of one of a run's objects in the traces bucket. */
export function runObjectKey(runId: string, objectName: string): string {
  if (!RunId.safeParse(runId).success) throw new Error(`not a run id: ${JSON.stringify(runId).slice(0, 40)}`);
  return `runs/${runId}/${objectName}`;
}
