import * as z from 'zod';
import { RunId, type RunPriority } from '../runs/schemas';

const rank: Record<RunPriority, number> = { high: 1, normal: 2, low: 3 };

/** A queue entry's order key, `<priority rank>#<runId>`: high before normal before low, then by submission (run ids are ULIDs). */
export function queueOrderOf(runId: string, priority: RunPriority): string {
  return `${rank[priority]}#${RunId.parse(runId)}`;
}

/** The run queue: the port the domain calls; adapters/dynamodb/run-queue.ts implements it. */

/** An entry as the byQueue index shows it (no token). */
export const QueueEntry = z.object({
  runId: RunId,
  repo: z.string().min(1),
  requester: z.string().min(1),
  queueOrder: z.string(),
  /** Waiting for something else than a slot (its thread, its requester's review backlog): a freed slot does not wake it. */
  held: z.boolean(),
  /** When a waker took its token (it is re-checking its admission); null while it waits. */
  wokenAt: z.string().nullable(),
  /** When it last started to wait (its Admit state stored a token). */
  since: z.string(),
});
export type QueueEntry = z.infer<typeof QueueEntry>;

export interface QueueWaitInput {
  runId: string;
  repo: string;
  requester: string;
  priority: RunPriority;
  /** The task token of the run's Admit state; absent when admission is called outside the state machine. */
  token?: string;
  held: boolean;
  at: string;
}

export interface RunQueuePort {
  /**
   * Puts the run in the queue, or refreshes its entry: same place, the new token, no longer woken.
   * Returns when a waker last took its token (null if none did): the run was woken and is waiting again;
   * and whether the entry is new (`placed`), so the runs behind it moved back a place.
   */
  wait(input: QueueWaitInput): Promise<{ wokenAt: string | null; placed: boolean }>;
  /** Takes the run out of the queue (admitted or ended); idempotent. True when it had an entry (the runs behind it moved up). */
  remove(runId: string): Promise<boolean>;
  /** 1 + the entries ahead of the run (a COUNT over the index keys ahead), or null when it has no entry. */
  position(runId: string, priority: RunPriority): Promise<number>;
  /** Up to `limit` entries in admission order, from the head. */
  head(limit: number): Promise<QueueEntry[]>;
  /** Up to `limit` entries in admission order, from the head through the run's own place (its entry last, when it has one and it is within `limit`). */
  through(runId: string, priority: RunPriority, limit: number): Promise<QueueEntry[]>;
  /** Takes a waiting entry's token (a conditional write, so two wakers never both get it); undefined if it has none. */
  claim(runId: string, at: string): Promise<string | undefined>;
  /** Gives a claimed token back after a wake-up that could not be delivered, unless the run stored a newer one. */
  restore(runId: string, token: string): Promise<void>;
}
