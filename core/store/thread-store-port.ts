import * as z from 'zod';

/** The store of GitHub threads (docs/github-app.md, Threads): the port the domain calls; adapters/dynamodb/threads.ts implements it. */
export const ThreadName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}#[1-9][0-9]{0,9}$/, 'must be "owner/name#N"');

/** A thread's control item as the store reads it. */
export const ThreadState = z.object({
  runs: z.record(z.string(), z.number().int().nonnegative()).default({}),
  version: z.number().int().nonnegative().default(0),
  lastRunAt: z.string().nullable().default(null),
  noticeAt: z.string().nullable().default(null),
});
export type ThreadState = z.infer<typeof ThreadState>;

export interface ThreadReservation {
  thread: string;
  runId: string;
  budgetMicros: number;
  capMicros: number;
  /** What the thread's runs have committed: spent when settled, else their budget (core/runs/threads.ts). */
  committedOf(runs: Record<string, number>): Promise<number>;
}

export interface ThreadStorePort {
  get(thread: string): Promise<ThreadState | undefined>;
  /** Adds the run to the thread if its budget fits under the cap; throws ThreadBudgetError otherwise. */
  reserve(input: ThreadReservation): Promise<void>;
  /** Takes a run back out of its thread (its submission failed before the run was stored). */
  release(thread: string, runId: string): Promise<void>;
  /** True the first time only: the one polite refusal of a thread. */
  claimNotice(thread: string): Promise<boolean>;
  /** True the first time only for this item: its one comment on the thread (core/github/inbox-on-thread.ts). */
  claimItemPost(thread: string, itemId: string): Promise<boolean>;
  /** Gives a claim back: the comment could not be posted, so a redelivery must post it. */
  releaseItemPost(thread: string, itemId: string): Promise<void>;
}
